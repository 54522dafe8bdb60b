"""The typed model of the ``[performance]`` table: scenarios, gates, tolerances.

Frozen dataclasses with the spec's defaults; :mod:`stagewise.project.performance`
reads and validates the table into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Literal

ScenarioKind = Literal["constant", "shape", "stress", "endurance"]
KINDS: tuple[ScenarioKind, ...] = ("constant", "shape", "stress", "endurance")
MAX_USERS = 100_000


@dataclass(frozen=True)
class GateLimits:
    """Latency, error-rate and throughput limits; ``None`` means "no gate".

    Latencies are the largest allowed value in milliseconds, ``error_rate`` the
    largest allowed share of failed requests in percent, ``min_rps`` the
    smallest acceptable requests per second.
    """

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    error_rate: float | None = None
    min_rps: float | None = None

    def over(self, other: GateLimits) -> GateLimits:
        """``other``'s limits where set, ours elsewhere (``other`` is more specific)."""
        values = {f.name: getattr(other, f.name) for f in fields(self) if getattr(other, f.name) is not None}
        return replace(self, **values)


#: staging_tests.md's targets: P95 latency < 200 ms, error rate < 1%.
DEFAULT_LIMITS = GateLimits(p95_ms=200.0, error_rate=1.0)


@dataclass(frozen=True)
class Gates:
    """Limits for every endpoint plus overrides for named endpoints ("GET /orders")."""

    default: GateLimits = GateLimits()
    endpoints: Mapping[str, GateLimits] = field(default_factory=dict)

    def over(self, other: Gates) -> Gates:
        """Layer a more specific :class:`Gates` on top of this one."""
        endpoints = dict(self.endpoints)
        for name, limits in other.endpoints.items():
            endpoints[name] = endpoints.get(name, GateLimits()).over(limits)
        return Gates(self.default.over(other.default), endpoints)

    def for_endpoint(self, name: str) -> GateLimits:
        """The limits that apply to one endpoint (``"GET /x"``) or to all requests."""
        specific = self.endpoints.get(name)
        return self.default if specific is None else self.default.over(specific)


@dataclass(frozen=True)
class Tolerance:
    """How far a run may drift from its saved baseline before it is a regression.

    Latencies (``p50``, ``p95``, ``p99``) may grow by that many percent,
    throughput (``rps``) may drop by that many percent, and ``error_rate`` may
    grow by that many percentage points. ``min_ms`` ignores latency changes
    smaller than itself, so a 1 ms -> 2 ms blip on a trivial endpoint is not
    "+100%".
    """

    p50: float | None = None
    p95: float | None = 20.0
    p99: float | None = None
    rps: float | None = None
    error_rate: float | None = 1.0
    min_ms: float = 5.0


@dataclass(frozen=True)
class ShapeStage:
    """One step of a load shape: hold ``users`` for ``duration`` seconds."""

    duration: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class Scenario:
    """One named load scenario.

    ``constant`` holds ``users`` for ``duration``; ``shape`` plays ``stages``
    in order; ``stress`` runs ``start_users``, then ``+step_users`` every
    ``step_duration`` seconds up to ``max_users`` until a gate breaks (and
    fails only if that happens below ``sustain_users``); ``endurance`` is a
    long constant run that also watches p95 latency and the target's memory
    for drift.
    """

    name: str
    kind: ScenarioKind = "constant"
    users: int = 10
    spawn_rate: float | None = None
    duration: float = 60.0
    stages: tuple[ShapeStage, ...] = ()
    start_users: int = 10
    step_users: int = 10
    max_users: int = 100
    step_duration: float = 30.0
    sustain_users: int | None = None
    sample_interval: float = 10.0
    metrics_path: str = "/metrics"
    memory_metric: str = "process_resident_memory_bytes"
    pid_file: str | None = None
    max_memory_growth: float | None = 20.0
    max_latency_drift: float | None = 50.0
    gates: Gates = Gates()

    @property
    def effective_spawn_rate(self) -> float:
        """The spawn rate, or a ten-second ramp (at least one user a second) when unset.

        Starting every user in the same instant measures the target's cold start,
        not its behaviour under load; a short ramp keeps that out of the percentiles.
        """
        return self.spawn_rate if self.spawn_rate is not None else max(self.users / 10, 1.0)


def builtin_scenarios() -> dict[str, Scenario]:
    """The five scenarios of staging_tests.md, usable without any configuration."""
    return {
        "normal-load": Scenario("normal-load", users=10, duration=60),
        "peak-load": Scenario("peak-load", users=50, spawn_rate=10, duration=120),
        "stress": Scenario(
            "stress", kind="stress", start_users=10, step_users=10, max_users=200, step_duration=30
        ),
        "endurance": Scenario("endurance", kind="endurance", users=10, duration=3600),
        "spike": Scenario(
            "spike",
            kind="shape",
            stages=(ShapeStage(30, 10, 10), ShapeStage(30, 100, 100), ShapeStage(30, 10, 100)),
        ),
    }


@dataclass(frozen=True)
class PerformanceConfig:
    """Everything the performance tier reads from the project file."""

    scenario: str = "normal-load"
    scenarios: Mapping[str, Scenario] = field(default_factory=builtin_scenarios)
    gates: Gates = Gates(DEFAULT_LIMITS)
    tolerance: Tolerance = Tolerance()
    baseline_dir: str = ".stagewise/baselines"
    workers: int = 0

    def gates_for(self, scenario: Scenario) -> Gates:
        """The project-wide gates with the scenario's own layered on top."""
        return self.gates.over(scenario.gates)
