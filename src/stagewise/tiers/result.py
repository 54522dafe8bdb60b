"""What a tier returns: its status, its counts and the evidence it left."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from stagewise.errors import ExitCode


class TierStatus(StrEnum):
    """A tier's outcome; each maps to the exit code it would end a run with."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NO_TESTS = "no-tests"
    MISSING = "missing"

    @property
    def exit_code(self) -> ExitCode:
        return {
            TierStatus.PASSED: ExitCode.OK,
            TierStatus.FAILED: ExitCode.FAILED,
            TierStatus.ERROR: ExitCode.FAILED,
            TierStatus.NO_TESTS: ExitCode.NO_TESTS,
            TierStatus.MISSING: ExitCode.MISSING,
        }[self]


@dataclass(frozen=True)
class TestCounts:
    """Counts as pytest's JUnit XML reports them."""

    __test__ = False  # not a pytest test class, despite the name

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0

    @property
    def passed(self) -> int:
        return max(self.tests - self.failures - self.errors - self.skipped, 0)


@dataclass(frozen=True)
class FailedTest:
    """One failing or erroring test case and the first line of its message."""

    name: str
    kind: str
    message: str


@dataclass(frozen=True)
class TierResult:
    """The result of one tier; a failure here is data, never an exception."""

    name: str
    status: TierStatus
    counts: TestCounts = TestCounts()
    duration: float = 0.0
    message: str = ""
    junit_path: str | None = None
    log_path: str | None = None
    command: tuple[str, ...] = ()
    failed_tests: tuple[FailedTest, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)
