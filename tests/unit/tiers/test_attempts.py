"""The attempt record folds into one outcome per node id, and stagewise's JUnit file says the same.

The lines here have the shape ``stagewise_record`` writes; that the plugin
really writes them on pytest 7, 8 and 9 is proven in
tests/integration/tiers/test_record_plugin.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stagewise.tiers.attempts import parse_lines, read_attempts
from stagewise.tiers.junit import read_cases, read_junit, write_pytest_junit
from stagewise.tiers.result import FailedTest, FlakyTest


def report(nodeid: str, when: str, outcome: str, worker: str | None = None, **extra: Any) -> str:
    line = {"event": "report", "nodeid": nodeid, "when": when, "outcome": outcome, "duration": 0.5}
    return json.dumps({**line, "worker": worker, **extra})


def phases(nodeid: str, call: str, **extra: Any) -> list[str]:
    return [
        report(nodeid, "setup", "passed"),
        report(nodeid, "call", call, **extra),
        report(nodeid, "teardown", "passed"),
    ]


FLAKY = "tests/test_a.py::test_flaky"
LINES = [
    json.dumps({"event": "start", "pytest": "7.4.4", "worker": None}),
    json.dumps({"event": "deselected", "count": 2, "worker": None}),
    json.dumps({"event": "collected", "count": 7, "worker": None}),
    *phases("tests/test_a.py::test_ok", "passed"),
    # pytest-rerunfailures: the failed attempt's call is "rerun", then the whole protocol again
    *phases(FLAKY, "rerun", message="AssertionError: first", text="E  AssertionError: first"),
    *phases(FLAKY, "passed"),
    *phases("tests/test_a.py::test_bad[1]", "failed", message="assert 1 == 2", text="long trace"),
    *phases("tests/test_a.py::test_xfail", "skipped", wasxfail="known bug"),
    *phases("tests/test_a.py::test_xpass", "passed", wasxfail="fixed?"),
    *phases("tests/test_a.py::test_skip", "skipped", message="not here"),
    report("tests/test_a.py::test_fixture", "setup", "failed", message="RuntimeError: boom"),
    report("tests/test_a.py::test_fixture", "teardown", "passed"),
    '{"event": "report", "nodeid": "torn',  # a line cut off when pytest was killed
    json.dumps({"event": "end", "exitstatus": 1, "worker": None}),
]


def test_each_test_has_one_final_outcome() -> None:
    attempts = parse_lines(LINES)
    counts = attempts.counts
    assert (counts.tests, counts.passed, counts.failures, counts.errors) == (7, 2, 1, 1)
    assert (counts.skipped, counts.xfailed, counts.xpassed, counts.deselected) == (1, 1, 1, 2)
    assert attempts.flaky == (FlakyTest(FLAKY, 1),)
    assert attempts.failed == (
        FailedTest("tests/test_a.py::test_bad[1]", "failure", "assert 1 == 2"),
        FailedTest("tests/test_a.py::test_fixture", "error", "RuntimeError: boom"),
    )
    assert (attempts.collected, attempts.exitstatus, attempts.pytest_version) == (7, 1, "7.4.4")
    flaky = next(t for t in attempts.tests if t.nodeid == FLAKY)
    assert (flaky.attempts, flaky.duration, flaky.earlier[0][0]) == (2, 3.0, "AssertionError: first")


def test_a_test_failing_every_attempt_is_failed_not_flaky() -> None:
    node = "t.py::test_x"
    attempts = parse_lines([*phases(node, "rerun"), *phases(node, "rerun"), *phases(node, "failed")])
    assert (attempts.counts.failures, attempts.flaky, attempts.tests[0].attempts) == (1, (), 3)


def test_a_failing_teardown_after_a_passed_call_is_an_error() -> None:
    node = "t.py::test_x"
    lines = [
        report(node, "setup", "passed"),
        report(node, "call", "passed"),
        report(node, "teardown", "failed"),
    ]
    assert parse_lines(lines).counts.errors == 1


def test_subtests_belong_to_their_attempt() -> None:
    node = "t.py::test_x"
    ok = [report(node, "call", "passed", subtest="(i=0)"), report(node, "call", "passed", subtest="(i=1)")]
    lines = [
        report(node, "setup", "passed"),
        *ok,
        report(node, "call", "passed"),
        report(node, "teardown", "passed"),
    ]
    attempts = parse_lines(lines)
    assert (attempts.counts.passed, attempts.flaky, attempts.tests[0].attempts) == (1, (), 1)
    bad = report(node, "call", "failed", subtest="[each] (i=1)", message="assert 1 != 1")
    attempts = parse_lines([*lines[:2], bad, *lines[2:]])
    assert attempts.failed == (FailedTest(node, "failure", "[each] (i=1) assert 1 != 1"),)


def test_xdist_workers_collection_facts_are_counted_once() -> None:
    lines = [
        json.dumps({"event": name, "count": count, "worker": worker})
        for worker in ("gw0", "gw1")
        for name, count in (("deselected", 3), ("collected", 5))
    ]
    error = {
        "event": "collect_error",
        "nodeid": "tests/test_b.py",
        "message": "SyntaxError: bad",
        "text": "...",
    }
    lines += [json.dumps({**error, "worker": worker}) for worker in ("gw0", "gw1", None)]
    attempts = parse_lines(lines)
    assert (attempts.collected, attempts.deselected, attempts.workers) == (5, 3, ("gw0", "gw1"))
    assert attempts.counts.errors == 1
    assert attempts.failed == (FailedTest("tests/test_b.py", "error", "SyntaxError: bad"),)


def test_no_record_is_none_not_zero_tests(tmp_path: Path) -> None:
    assert read_attempts(tmp_path / "absent.jsonl") is None
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    assert read_attempts(tmp_path / "empty.jsonl") is None


def test_stagewise_junit_round_trips_the_record(tmp_path: Path) -> None:
    attempts = parse_lines(LINES)
    path = tmp_path / "junit-unit.xml"
    write_pytest_junit(path, "unit", attempts, 1.5)
    parsed = read_junit(path)
    assert parsed is not None
    assert parsed == (attempts.counts, attempts.failed)
    cases = {case.name: case for case in read_cases(path)}
    assert cases[FLAKY].flaky
    assert cases[FLAKY].attempts == 2
    assert cases["tests/test_a.py::test_xfail"].outcome == "xfailed"
    assert cases["tests/test_a.py::test_xpass"].outcome == "xpassed"
    assert cases["tests/test_a.py::test_bad[1]"].details == "long trace"
    text = path.read_text(encoding="utf-8")
    assert "<flakyFailure" in text  # CI viewers that know Surefire's dialect show the rerun too
    assert 'classname="tests.test_a" name="test_bad[1]"' in text
