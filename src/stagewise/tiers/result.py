"""What a tier returns (status, counts, evidence) and the run record built from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from stagewise.errors import ExitCode


class TierStatus(StrEnum):
    """A tier's outcome; each maps to the exit code it would end a run with."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NO_TESTS = "no-tests"
    MISSING = "missing"
    NOT_RUN = "not-run"  # stagewise check: a step whose tool is not there (the message says why)
    #: --changed: no test of the tier is affected by the change (the message says why); not a failure,
    #: and never shown as passed: the tier ran nothing
    SKIPPED_BY_CHANGE = "skipped-by-change"

    @property
    def exit_code(self) -> ExitCode:
        return {
            TierStatus.PASSED: ExitCode.OK,
            TierStatus.FAILED: ExitCode.FAILED,
            TierStatus.ERROR: ExitCode.FAILED,
            TierStatus.NO_TESTS: ExitCode.NO_TESTS,
            TierStatus.MISSING: ExitCode.MISSING,
            TierStatus.NOT_RUN: ExitCode.MISSING,
            TierStatus.SKIPPED_BY_CHANGE: ExitCode.OK,
        }[self]


@dataclass(frozen=True)
class TestCounts:
    """A tier's test counts; each test is in exactly one of the outcome counts.

    ``tests`` holds every test that ran or was skipped (and collection errors,
    counted in ``errors``); xfailed and xpassed tests are their own columns, not
    skipped and not passed. ``deselected`` tests (``-m``/``-k``) are outside
    ``tests`` altogether: pytest never ran them.
    """

    __test__ = False  # not a pytest test class, despite the name

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    deselected: int = 0

    @property
    def passed(self) -> int:
        others = self.failures + self.errors + self.skipped + self.xfailed + self.xpassed
        return max(self.tests - others, 0)


@dataclass(frozen=True)
class FailedTest:
    """One failing or erroring test and the first line of its message.

    For pytest tiers ``name`` is the node id (``tests/test_a.py::test_x[1]``),
    so it pastes straight into ``pytest``.
    """

    name: str
    kind: str
    message: str


@runtime_checkable
class Evidence(Protocol):
    """A tier's typed evidence: it writes its own part of the tier's record in summary.json.

    ``record()`` returns top-level keys of ``tiers[]`` (e.g. ``{"performance": {...}}``);
    they must be JSON-serialisable. The page renders from the record, never from
    this object, so a record read back from disk renders the same.
    """

    def record(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class FlakyTest:
    """A test that passed only after ``reruns`` reruns in one tier of one run.

    JUnit counts a flaky test as passed; the report must not, so the tier keeps
    the names for the summary to subtract.
    """

    name: str
    reruns: int


@dataclass(frozen=True)
class RecordEvidence:
    """Evidence already in its record shape: one key of ``tiers[]`` and its value."""

    key: str
    value: object

    def record(self) -> Mapping[str, Any]:
        return {self.key: self.value}


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
    pytest_exit_code: int | None = None  # pytest tiers: the child's own exit code
    reruns: int = 0  # --reruns N as the tier ran it
    flaky_tests: tuple[FlakyTest, ...] = ()  # tests that passed only on a rerun
    evidence: tuple[Evidence, ...] = ()  # what the tier leaves in summary.json and on the page
    #: False for a "no tests" tier that ``--all`` reached in a project without that tier's folder:
    #: the project has no such tests, so their absence is not the verdict (an asked-for tier's is).
    counted: bool = True


@dataclass(frozen=True)
class GateResult:
    """A gate over a whole run (e.g. coverage), with measured value and limit.

    A gate that does not apply to this run (``applicable=False``: a combined
    coverage limit when one of its tiers did not run) is reported with the
    reason in ``message`` and ``passed=True``: it neither passes nor fails the run.
    """

    name: str
    measured: float
    limit: float
    passed: bool
    message: str
    applicable: bool = True


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
    command: str = "test"  # the command that made the run: "test" or "check"
    profile: str | None = None  # the profile it ran under (--profile NAME), if any
    changed: dict[str, object] | None = None  # --changed: {ref, commit, files} the run compared with

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        counted = [t for t in self.tiers if t.counted]
        codes = {t.status.exit_code for t in counted}
        if self.tiers and not counted:
            codes.add(ExitCode.NO_TESTS)  # --all in a project with no tier folder at all
        if any(not g.passed for g in self.gates):
            codes.add(ExitCode.FAILED)
        for code in (ExitCode.FAILED, ExitCode.MISSING, ExitCode.NO_TESTS):
            if code in codes:
                return code
        return ExitCode.OK

    @property
    def verdict(self) -> str:
        counted = [t for t in self.tiers if t.counted]
        if (
            self.exit_code is ExitCode.OK
            and counted
            and all(t.status is TierStatus.SKIPPED_BY_CHANGE for t in counted)
        ):
            return "nothing affected"  # --changed: no test ran, and the run must not read as "passed"
        return {
            ExitCode.OK: "passed",
            ExitCode.FAILED: "failed",
            ExitCode.MISSING: "incomplete",
            ExitCode.NO_TESTS: "no tests",
            ExitCode.INTERRUPTED: "interrupted",
        }.get(self.exit_code, "failed")
