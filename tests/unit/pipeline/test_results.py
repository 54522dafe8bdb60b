"""The verdict: one exit code from many tiers, with a fixed precedence."""

from __future__ import annotations

import pytest

from stagewise.errors import ExitCode
from stagewise.pipeline.results import GateResult, RunResult
from stagewise.tiers.result import TierResult, TierStatus


def run_with(*statuses: TierStatus) -> RunResult:
    result = RunResult("id", "test", "http://x", "/tmp/r")
    result.tiers = [TierResult(f"t{i}", s) for i, s in enumerate(statuses)]
    return result


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ((TierStatus.PASSED,), ExitCode.OK),
        ((TierStatus.PASSED, TierStatus.FAILED), ExitCode.FAILED),
        ((TierStatus.ERROR,), ExitCode.FAILED),
        ((TierStatus.PASSED, TierStatus.MISSING), ExitCode.MISSING),
        ((TierStatus.NO_TESTS,), ExitCode.NO_TESTS),
        ((TierStatus.MISSING, TierStatus.FAILED, TierStatus.NO_TESTS), ExitCode.FAILED),
        ((TierStatus.NO_TESTS, TierStatus.MISSING), ExitCode.MISSING),
    ],
)
def test_precedence(statuses: tuple[TierStatus, ...], code: ExitCode) -> None:
    assert run_with(*statuses).exit_code == code


def test_a_failed_gate_fails_a_passing_run() -> None:
    result = run_with(TierStatus.PASSED)
    result.gates.append(GateResult("coverage", 50.0, 80.0, False, "below"))
    assert result.exit_code == ExitCode.FAILED
    assert result.verdict == "failed"


def test_interrupted_wins() -> None:
    result = run_with(TierStatus.FAILED)
    result.interrupted = True
    assert result.exit_code == ExitCode.INTERRUPTED


def test_a_tier_skipped_by_the_change_is_neither_a_failure_nor_a_pass() -> None:
    partly = run_with(TierStatus.PASSED, TierStatus.SKIPPED_BY_CHANGE)
    assert partly.exit_code == ExitCode.OK
    assert partly.verdict == "passed"
    nothing = run_with(TierStatus.SKIPPED_BY_CHANGE, TierStatus.SKIPPED_BY_CHANGE)
    assert nothing.exit_code == ExitCode.OK
    assert nothing.verdict == "nothing affected"  # never reads as "passed": no test ran
    assert run_with(TierStatus.FAILED, TierStatus.SKIPPED_BY_CHANGE).verdict == "failed"
