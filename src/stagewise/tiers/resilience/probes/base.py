"""The one interface every probe implements, what it is handed, and what it returns.

A probe is a class with a ``name``, ``run(context) -> ProbeResult`` and
``headline(result)`` (its figures for the summary's flat headline), registered
with its metadata in :data:`stagewise.plugins.probes.PROBES`.

A probe never raises for a bad measurement: a lost write or a slow replica is
a figure and a failed check. It raises :class:`~stagewise.errors.MissingError`
only when it cannot measure at all (a region that never answers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from stagewise.project.resilience import ResilienceGates, Scenario
    from stagewise.tiers.resilience.faults import Fault
    from stagewise.tiers.resilience.topology import Deployment


@dataclass(frozen=True)
class GateCheck:
    """One gate: the probe, what it measured, the limit, and the sentence that says so."""

    probe: str
    gate: str
    measured: float
    limit: float
    passed: bool
    message: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class ProbeResult:
    """A probe's outcome: figures for the report, checks for the verdict."""

    probe: str
    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[GateCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def at_most(self, gate: str, what: str, measured: float, limit: float | None, unit: str) -> None:
        """Add the check ``measured <= limit`` (nothing when the gate is off)."""
        self._compare(gate, what, measured, limit, unit, signs=("<=", ">"), ok=measured <= (limit or 0))

    def below(self, gate: str, what: str, measured: float, limit: float | None, unit: str) -> None:
        """Add the check ``measured < limit``: the spec's strict "under" promises."""
        self._compare(gate, what, measured, limit, unit, signs=("<", ">="), ok=measured < (limit or 0))

    def at_least(self, gate: str, what: str, measured: float, limit: float | None, unit: str) -> None:
        """Add the check ``measured >= limit``."""
        self._compare(gate, what, measured, limit, unit, signs=(">=", "<"), ok=measured >= (limit or 0))

    def above(self, gate: str, what: str, measured: float, limit: float | None, unit: str) -> None:
        """Add the check ``measured > limit`` (strictly)."""
        self._compare(gate, what, measured, limit, unit, signs=(">", "<="), ok=measured > (limit or 0))

    def _compare(
        self,
        gate: str,
        what: str,
        measured: float,
        limit: float | None,
        unit: str,
        *,
        signs: tuple[str, str],
        ok: bool,
    ) -> None:
        if limit is None:
            return
        sign = signs[0] if ok else signs[1]
        message = f"{self.probe}: {what} {_fmt(measured, unit)} {sign} {_fmt(limit, unit)}"
        self.checks.append(GateCheck(self.probe, gate, measured, limit, ok, message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "passed": self.passed,
            "duration_s": round(self.duration, 3),
            "figures": self.figures,
            "checks": [c.as_dict() for c in self.checks],
            "notes": self.notes,
            "timeline": self.timeline,
        }


@dataclass(frozen=True)
class ProbeContext:
    """Everything a probe may read: the deployment, the scenario's gates and the fault it plants.

    ``fault`` is the scenario's fault only when its phase is the one the
    probe's registry entry plants (``failover``, ``routing``); the runner
    reverts it as soon as the probe ends.
    """

    deployment: Deployment
    gates: ResilienceGates
    scenario: Scenario
    fault: Fault | None = None


@runtime_checkable
class Probe(Protocol):
    """A resilience probe: one module under ``tiers/resilience/probes``."""

    name: str

    def run(self, context: ProbeContext) -> ProbeResult:
        """Measure, and return the figures and gate checks (raise MissingError only when it cannot measure)."""
        ...

    def headline(self, result: ProbeResult) -> dict[str, Any]:
        """This probe's figures in the summary's flat headline mapping (empty when it has none)."""
        ...


def holds(probe: str, gate: str, passed: bool, message: str, measured: float = 0.0) -> GateCheck:
    """A yes/no check (every region holds the same rows) with the sentence that explains it."""
    return GateCheck(probe, gate, measured, 0.0, passed, f"{probe}: {message}")


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "pt":
        return f"{value:.1f} points"
    if unit == "rows":
        return f"{value:g} rows"
    return f"{value:g}{unit}"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by the nearest-rank method; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


__all__ = ["GateCheck", "Probe", "ProbeContext", "ProbeResult", "holds", "percentile"]
