"""The ``[performance]`` table of the project file: scenarios, gates, baselines.

Parsed and validated once into frozen dataclasses; every error is a
:class:`~stagewise.errors.ConfigError` naming the file and the key path
(``performance.scenarios.stress.step_users: must be a whole number from 1 to
100000, got 0``), exit code 3. Nothing here imports Locust: the project model must
load in milliseconds for ``stagewise --help`` and ``stagewise env``.

Layering of gate limits, later wins, key by key::

    built-in (p95 200 ms, error rate 1%)
      <- performance.gates
      <- performance.gates.endpoints."GET /x"
      <- performance.scenarios.S.gates
      <- performance.scenarios.S.gates.endpoints."GET /x"
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from stagewise.project.performance_model import (
    DEFAULT_LIMITS,
    KINDS,
    MAX_USERS,
    GateLimits,
    Gates,
    PerformanceConfig,
    Scenario,
    ScenarioKind,
    ShapeStage,
    Tolerance,
    builtin_scenarios,
)
from stagewise.project.table import ConfigTable, parse_seconds
from stagewise.project.validate import NAME, inside_project, matching, named_tables, one_of

_ENDPOINT = re.compile(r"^[A-Z]+ \S+$")


def parse_performance(file: str, path: str, data: Mapping[str, object]) -> PerformanceConfig:
    """Validate ``data`` as the ``[performance]`` table at ``path`` of ``file`` (empty: all defaults)."""
    return read_performance(ConfigTable(file, path, data))


def read_performance(table: ConfigTable) -> PerformanceConfig:
    """Validate the ``[performance]`` table (empty: all defaults)."""
    base = PerformanceConfig()
    gates_t = table.table("gates")
    gates = base.gates.over(_gates(gates_t)) if gates_t is not None else base.gates
    tolerance = _tolerance(table.table("tolerance"))
    scenarios = dict(base.scenarios)
    check = matching(NAME, "scenario names are letters, digits, '.', '_' or '-'")
    for name, scenario_t in named_tables(table.section("scenarios"), check):
        scenarios[name] = _scenario(scenario_t, name, scenarios.get(name))
    scenario = table.string("scenario") or base.scenario
    if scenario not in scenarios:
        raise table.error("scenario", f"unknown scenario {scenario!r} (scenarios: {', '.join(scenarios)})")
    baseline_dir = table.string("baseline_dir") or base.baseline_dir
    if not inside_project(baseline_dir):
        raise table.error("baseline_dir", "must be a relative path inside the project")
    workers = table.whole("workers", 0, 256)
    table.check_unknown()
    return PerformanceConfig(
        scenario=scenario,
        scenarios=scenarios,
        gates=gates,
        tolerance=tolerance,
        baseline_dir=baseline_dir,
        workers=workers or 0,
    )


def _limits(table: ConfigTable) -> GateLimits:
    return GateLimits(
        p50_ms=table.number("p50_ms", 0, 3_600_000),
        p95_ms=table.number("p95_ms", 0, 3_600_000),
        p99_ms=table.number("p99_ms", 0, 3_600_000),
        error_rate=table.number("error_rate", 0, 100),
        min_rps=table.number("min_rps", 0, 10_000_000),
    )


def _gates(table: ConfigTable) -> Gates:
    default = _limits(table)
    endpoints: dict[str, GateLimits] = {}
    endpoints_t = table.table("endpoints")
    if endpoints_t is not None:
        for name, endpoint_t in named_tables(endpoints_t, _endpoint_name):
            endpoints[name] = _limits(endpoint_t)
            endpoint_t.check_unknown()
        endpoints_t.check_unknown()
    table.check_unknown()
    return Gates(default, endpoints)


def _endpoint_name(name: str) -> str | None:
    if _ENDPOINT.match(name) or name == "all requests":
        return None
    return "endpoint keys are 'METHOD /path' as Locust names them, or 'all requests'"


def _tolerance(table: ConfigTable | None) -> Tolerance:
    base = Tolerance()
    if table is None:
        return base

    def pick(name: str, current: float | None) -> float | None:
        value = table.number(name, 0, 10_000)
        return current if value is None else value

    tolerance = Tolerance(
        p50=pick("p50", base.p50),
        p95=pick("p95", base.p95),
        p99=pick("p99", base.p99),
        rps=pick("rps", base.rps),
        error_rate=pick("error_rate", base.error_rate),
        min_ms=pick("min_ms", base.min_ms) or 0.0,
    )
    table.check_unknown()
    return tolerance


def _scenario(table: ConfigTable, name: str, builtin: Scenario | None) -> Scenario:
    base = builtin or Scenario(name)
    kind_value = one_of(table, "kind", KINDS)
    kind: ScenarioKind = base.kind
    for candidate in KINDS:
        if candidate == kind_value:
            kind = candidate
    stages = _stages(table) if "stages" in table.data else base.stages
    if "stages" in table.data and kind_value is None:
        kind = "shape"
    if kind == "shape" and not stages:
        raise table.error("stages", "a shape scenario needs a non-empty list of stages")

    def whole(key: str, current: int, low: int = 1) -> int:
        value = table.whole(key, low, MAX_USERS)
        return current if value is None else value

    def number(key: str, current: float | None, low: float, high: float) -> float | None:
        value = table.number(key, low, high)
        return current if value is None else value

    def seconds(key: str, current: float) -> float:
        value = table.seconds(key)
        return current if value is None else value

    sustain = table.whole("sustain_users", 1, MAX_USERS)
    gates_t = table.table("gates")
    scenario = Scenario(
        name=name,
        kind=kind,
        users=whole("users", base.users),
        spawn_rate=number("spawn_rate", base.spawn_rate, 0.01, MAX_USERS),
        duration=seconds("duration", base.duration),
        stages=stages,
        start_users=whole("start_users", base.start_users),
        step_users=whole("step_users", base.step_users),
        max_users=whole("max_users", base.max_users),
        step_duration=seconds("step_duration", base.step_duration),
        sustain_users=sustain if sustain is not None else base.sustain_users,
        sample_interval=seconds("sample_interval", base.sample_interval),
        metrics_path=table.string("metrics_path") or base.metrics_path,
        memory_metric=table.string("memory_metric") or base.memory_metric,
        pid_file=table.string("pid_file") or base.pid_file,
        max_memory_growth=number("max_memory_growth", base.max_memory_growth, 0, 10_000),
        max_latency_drift=number("max_latency_drift", base.max_latency_drift, 0, 10_000),
        gates=base.gates.over(_gates(gates_t)) if gates_t is not None else base.gates,
    )
    if not scenario.metrics_path.startswith("/"):
        raise table.error("metrics_path", "must start with '/'")
    if scenario.kind == "stress" and scenario.start_users > scenario.max_users:
        raise table.error("start_users", f"must not exceed max_users ({scenario.max_users})")
    table.check_unknown()
    return scenario


def _stages(table: ConfigTable) -> tuple[ShapeStage, ...]:
    value = table.raw("stages")
    if not isinstance(value, list) or not value:
        raise table.error("stages", "must be a non-empty list of {duration, users, spawn_rate} tables")
    stages = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise table.error(f"stages[{index}]", "must be a table {duration, users, spawn_rate}")
        stage_t = ConfigTable(table.file, table.key(f"stages[{index}]"), item)
        duration = stage_t.seconds("duration")
        users = stage_t.whole("users", 0, MAX_USERS)
        if duration is None or users is None:
            raise stage_t.error("duration" if duration is None else "users", "is required")
        spawn_rate = stage_t.number("spawn_rate", 0.01, MAX_USERS)
        stage_t.check_unknown()
        stages.append(ShapeStage(duration, users, spawn_rate if spawn_rate is not None else max(users, 1)))
    return tuple(stages)


__all__ = [
    "DEFAULT_LIMITS",
    "KINDS",
    "MAX_USERS",
    "GateLimits",
    "Gates",
    "PerformanceConfig",
    "Scenario",
    "ScenarioKind",
    "ShapeStage",
    "Tolerance",
    "builtin_scenarios",
    "parse_performance",
    "parse_seconds",
    "read_performance",
]
