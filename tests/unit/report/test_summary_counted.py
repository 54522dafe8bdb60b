"""A "no tests" tier that --all reached without its folder is shown but not counted in the verdict."""

from __future__ import annotations

from stagewise.errors import ExitCode
from stagewise.tiers.result import RunResult, TierResult, TierStatus


def run_of(*tiers: TierResult) -> RunResult:
    result = RunResult(run_id="r", stage="test", target="", run_dir="/tmp/r", started_at="now")
    result.tiers.extend(tiers)
    return result


def test_an_uncounted_absent_tier_leaves_the_verdict_to_the_others() -> None:
    passed = TierResult("unit", TierStatus.PASSED)
    absent = TierResult("e2e", TierStatus.NO_TESTS, counted=False)
    assert run_of(passed, absent).exit_code is ExitCode.OK
    assert run_of(TierResult("unit", TierStatus.FAILED), absent).exit_code is ExitCode.FAILED


def test_a_counted_no_tests_tier_is_exit_5_and_so_is_a_run_where_nothing_counted() -> None:
    passed = TierResult("unit", TierStatus.PASSED)
    assert run_of(passed, TierResult("e2e", TierStatus.NO_TESTS)).exit_code is ExitCode.NO_TESTS
    only_absent = TierResult("e2e", TierStatus.NO_TESTS, counted=False)
    assert run_of(only_absent).exit_code is ExitCode.NO_TESTS
