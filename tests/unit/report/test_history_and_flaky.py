"""history.jsonl lines, flaky-test bookkeeping, and the rerun-folding JUnit reader."""

from __future__ import annotations

import json
from pathlib import Path

from stagewise.pipeline.results import RunResult
from stagewise.report.flaky import clean_passed, flakiest, flaky_tests
from stagewise.report.history import append_history, history_line, read_history
from stagewise.report.summary import run_record, write_run_record
from stagewise.tiers.junit import read_cases
from stagewise.tiers.result import FailedTest, FlakyTest, TestCounts, TierResult, TierStatus
from tests.unit.report.synthetic import JUNIT_UNIT, make_run

# What pytest 9 + pytest-rerunfailures write for `--reruns 2` (checked by hand and in
# tests/integration/report): each rerun is an extra, empty <testcase> just before the last attempt.
RERUN_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="3" time="0.2">
<testcase classname="test_f" name="test_flaky" time="0.005"/>
<testcase classname="test_f" name="test_flaky" time="0.006"/>
<testcase classname="test_f" name="test_always_fails" time="0.002"/>
<testcase classname="test_f" name="test_always_fails" time="0.002"/>
<testcase classname="test_f" name="test_always_fails" time="0.002"><failure message="AssertionError: nope">trace</failure></testcase>
<testcase classname="test_f" name="test_ok" time="0.001"/>
</testsuite></testsuites>"""


def tier_with_flaky() -> TierResult:
    return TierResult(
        "unit",
        TierStatus.FAILED,
        TestCounts(tests=5, failures=1, errors=0, skipped=1),
        duration=1.25,
        failed_tests=(FailedTest("t::bad", "failure", "boom"),),
        reruns=2,
        flaky_tests=(FlakyTest("t::flaky", 1),),
    )


def test_read_cases_folds_reruns_into_one_case(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    path.write_text(RERUN_JUNIT, encoding="utf-8")
    cases = {c.name: c for c in read_cases(path)}
    assert list(cases) == ["test_f::test_flaky", "test_f::test_always_fails", "test_f::test_ok"]
    assert cases["test_f::test_flaky"].flaky
    assert cases["test_f::test_flaky"].attempts == 2
    assert cases["test_f::test_always_fails"].outcome == "failed"
    assert cases["test_f::test_always_fails"].attempts == 3
    assert not cases["test_f::test_always_fails"].flaky
    assert not cases["test_f::test_ok"].flaky
    assert cases["test_f::test_flaky"].duration == 0.011


def test_read_cases_keeps_tracebacks_and_skips(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    path.write_text(JUNIT_UNIT, encoding="utf-8")
    cases = {c.name.split("::")[1]: c for c in read_cases(path)}
    assert cases["test_discount"].outcome == "failed"
    assert "tests/unit/test_cart.py:9" in cases["test_discount"].details
    assert cases["test_skip"].outcome == "skipped"
    assert read_cases(tmp_path / "absent.xml") == ()


def test_flaky_tests_are_not_counted_as_passed() -> None:
    tier = tier_with_flaky()
    assert [f.name for f in flaky_tests(tier)] == ["t::flaky"]
    assert tier.counts.passed == 3
    assert clean_passed(tier) == 2
    record = run_record(RunResult("r1", "test", "http://x", "/tmp/r1", tiers=[tier]))
    unit = record["tiers"][0]
    assert (unit["passed"], unit["flaky"], unit["reruns"]) == (2, 1, 2)
    assert unit["flaky_tests"] == [{"name": "t::flaky", "reruns": 1}]
    assert record["flaky"] == 1
    assert unit["passed"] + unit["failed"] + unit["errors"] + unit["skipped"] + unit["flaky"] == unit["tests"]


def test_tier_without_reruns_has_no_flaky() -> None:
    tier = TierResult("unit", TierStatus.PASSED, TestCounts(tests=2), pytest_exit_code=0)
    assert flaky_tests(tier) == ()
    assert clean_passed(tier) == 2


def test_summary_keeps_old_keys_and_adds_new_ones(tmp_path: Path) -> None:
    run_dir = tmp_path / "r1"
    run_dir.mkdir()
    result = RunResult("r1", "test", "http://x", str(run_dir), tiers=[tier_with_flaky()])
    info = {"git": {"commit": "abc", "branch": "main", "dirty": False}, "tool_versions": {"pytest": "9"}}
    summary = json.loads(write_run_record(result, tmp_path, run_dir, info).read_text())
    assert summary["schema_version"] == 1
    for key in ("run_id", "stage", "target", "started_at", "duration_s", "verdict", "exit_code"):
        assert key in summary
    assert summary["git"]["commit"] == "abc"
    assert summary["tool_versions"] == {"pytest": "9"}
    assert summary["run_dir"] == str(run_dir)
    assert summary["page"] == "index.html"
    line = read_history(tmp_path)[-1]
    assert line["tiers"] == {"unit": "failed"}
    assert line["flaky_tests"] == [{"tier": "unit", "name": "t::flaky"}]
    assert line["failed_tests"] == [{"tier": "unit", "name": "t::bad"}]
    assert (line["tests"], line["passed"], line["flaky"]) == (5, 2, 1)
    assert line["pass_rate"] == 0.5  # 2 clean passes out of 4 executed


def test_history_line_takes_p95_from_the_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    record = make_run(run_dir)
    line = history_line(record, run_dir)
    assert line["p95_ms"] == 48.0
    assert line["coverage_percent"] == 87.5
    assert history_line(make_run(tmp_path / "other", performance=False), tmp_path / "other")["p95_ms"] is None


def test_read_history_skips_broken_lines_and_keeps_the_last(tmp_path: Path) -> None:
    for i in range(5):
        append_history(tmp_path, {"run_id": f"r{i}", "tiers": []})
    with (tmp_path / "history.jsonl").open("a") as handle:
        handle.write("{not json\n[1, 2]\n")
    assert [r["run_id"] for r in read_history(tmp_path)] == ["r0", "r1", "r2", "r3", "r4"]
    assert [r["run_id"] for r in read_history(tmp_path, last=2)] == ["r3", "r4"]
    assert read_history(tmp_path / "nowhere") == []


def test_flakiest_ranks_by_flaky_runs_over_the_runs_of_its_tier() -> None:
    history = [
        {"run_id": "r1", "tiers": {"unit": "passed"}, "flaky_tests": [{"tier": "unit", "name": "a"}]},
        {
            "run_id": "r2",
            "tiers": {"unit": "passed", "api": "passed"},
            "flaky_tests": [{"tier": "unit", "name": "a"}, {"tier": "api", "name": "b"}],
        },
        {"run_id": "r3", "tiers": {"unit": "failed"}, "failed_tests": [{"tier": "unit", "name": "a"}]},
        {"run_id": "r4", "tiers": {"unit": "passed"}},
    ]
    stats = flakiest(history)
    assert [(s.tier, s.name, s.flaky_runs, s.runs, s.failed_runs) for s in stats] == [
        ("unit", "a", 2, 4, 1),
        ("api", "b", 1, 1, 0),
    ]
    assert stats[0].last_flaky == "r2"
    assert stats[0].as_dict()["flaky_rate"] == 0.5
    assert flakiest(history, limit=1) == stats[:1]
    assert flakiest([]) == []
