"""The run record: every tier's result, the gates, and the one verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from stagewise.errors import ExitCode
from stagewise.tiers.result import TierResult


@dataclass(frozen=True)
class GateResult:
    """A gate over a whole run (e.g. coverage), with measured value and limit."""

    name: str
    measured: float
    limit: float
    passed: bool
    message: str


@dataclass
class RunResult:
    """A whole run; ``exit_code`` is the verdict every command ends with.

    Precedence when tiers disagree: a failure (1) outranks something missing
    (4), which outranks an empty tier (5); only all-passed is 0. A code
    problem is reported ahead of an environment problem because it is the
    one a rerun will not fix.
    """

    run_id: str
    stage: str
    target: str
    run_dir: str
    tiers: list[TierResult] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    started_at: str = ""
    duration: float = 0.0
    interrupted: bool = False
    coverage_percent: float | None = None

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        codes = {t.status.exit_code for t in self.tiers}
        if any(not g.passed for g in self.gates):
            codes.add(ExitCode.FAILED)
        for code in (ExitCode.FAILED, ExitCode.MISSING, ExitCode.NO_TESTS):
            if code in codes:
                return code
        return ExitCode.OK

    @property
    def verdict(self) -> str:
        return {
            ExitCode.OK: "passed",
            ExitCode.FAILED: "failed",
            ExitCode.MISSING: "incomplete",
            ExitCode.NO_TESTS: "no tests",
            ExitCode.INTERRUPTED: "interrupted",
        }.get(self.exit_code, "failed")
