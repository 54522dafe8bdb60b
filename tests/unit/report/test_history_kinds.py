"""``stagewise check`` and ``stagewise test`` share history.jsonl: whatever compares runs keeps them apart.

The page's trends compare a run only with runs of the same command, profile
and tiers; flaky rates count only the runs of one command; a merge refuses a
check run among test shards. A history line written before ``command`` existed
is a test run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stagewise.errors import UsageError
from stagewise.report.flaky import flakiest
from stagewise.report.history import append_history, comparable, history_line, read_history
from stagewise.report.html import render_page
from stagewise.report.merge import merge_runs
from tests.unit.report.synthetic import history, make_run


def _line(i: int, command: str | None, tiers: tuple[str, ...], profile: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {
        "run_id": f"2026120{i}T080000Z-abcdef",
        "duration_s": 100.0 + i,
        "pass_rate": 0.5,
        "coverage_percent": 70.0,
        "tiers": dict.fromkeys(tiers, "passed"),
    }
    if command is not None:
        line["command"] = command
    if profile is not None:
        line["profile"] = profile
    return line


def _points(page: str, chart_id: str) -> int:
    match = re.search(rf"<svg id='{chart_id}'.*?data-points='(\d+)'.*?</svg>", page, re.S)
    assert match, f"no chart {chart_id}"
    return int(match.group(1))


def test_a_test_runs_trends_leave_out_check_runs_of_the_same_tiers(tmp_path: Path) -> None:
    run_dir = tmp_path / "20261125T080000Z-aaaaaa"
    record = make_run(run_dir)  # a test run of unit and api, naming no command
    lines = history(3) + [_line(i, "check", ("unit", "api")) for i in range(4)]
    page = render_page(record, run_dir, lines)
    assert _points(page, "trend-duration") == 3  # the three old (test) lines, none of the four checks
    assert "over the last 3 runs of stagewise test: unit, api" in page


def test_a_check_runs_trends_are_the_check_runs(tmp_path: Path) -> None:
    run_dir = tmp_path / "20261125T080000Z-bbbbbb"
    record = {**make_run(run_dir), "command": "check"}
    lines = history(5) + [_line(i, "check", ("unit", "api")) for i in range(2)]
    page = render_page(record, run_dir, lines)
    assert _points(page, "trend-duration") == 2
    assert "over the last 2 runs of stagewise check" in page


def test_trends_compare_only_runs_of_the_same_profile_and_tiers(tmp_path: Path) -> None:
    run_dir = tmp_path / "20261125T080000Z-cccccc"
    record = {**make_run(run_dir), "command": "test", "profile": "pr"}
    lines = [
        _line(1, "test", ("unit", "api"), "pr"),
        _line(2, "test", ("unit", "api")),  # the same tiers by hand, no profile
        _line(3, "test", ("unit",), "pr"),  # the profile's tiers were different then
        _line(4, "test", ("unit", "api"), "pr"),
    ]
    assert [line["run_id"][:9] for line in comparable(lines, record)] == ["20261201T", "20261204T"]
    assert _points(render_page(record, run_dir, lines), "trend-duration") == 2


def test_one_comparable_run_says_trends_come_later(tmp_path: Path) -> None:
    run_dir = tmp_path / "20261125T080000Z-dddddd"
    record = make_run(run_dir)
    page = render_page(record, run_dir, [_line(i, "check", ("unit", "api")) for i in range(5)])
    assert "Trends appear from the second run on of the same kind (stagewise test: unit, api" in page
    assert "trend-duration" not in page


def test_history_lines_record_command_and_profile_and_old_lines_read_as_test(tmp_path: Path) -> None:
    record = {**make_run(tmp_path / "r1"), "command": "check"}
    assert (history_line(record)["command"], history_line(record)["profile"]) == ("check", None)
    legacy = make_run(tmp_path / "r2")  # a record from before issue 17: no command, no profile
    assert history_line(legacy)["command"] == "test"
    append_history(tmp_path, {**legacy, "profile": "nightly"})
    assert read_history(tmp_path)[0]["profile"] == "nightly"


def test_flaky_rates_count_only_the_runs_of_one_command() -> None:
    flaky = [{"tier": "unit", "name": "tests/unit/test_a.py::test_clock"}]
    lines = [
        {**_line(1, None, ("unit",)), "flaky_tests": flaky},  # an old line: a test run
        _line(2, "test", ("unit",)),
        {**_line(3, "check", ("unit", "lint")), "flaky_tests": flaky},
        _line(4, "check", ("unit", "lint")),
        _line(5, "check", ("unit", "lint")),
    ]
    (test,) = flakiest(lines)
    assert (test.flaky_runs, test.runs) == (1, 2)  # not 2 of 5: check's unit step is another measure
    (check,) = flakiest(lines, command="check")
    assert (check.flaky_runs, check.runs) == (1, 3)


def _run_folder(root: Path, run_id: str, command: str | None) -> Path:
    folder = root / run_id
    record = make_run(folder)
    record["run_id"] = run_id
    if command is not None:
        record["command"] = command
    (folder / "summary.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_merge_refuses_a_check_run_among_test_shards(tmp_path: Path) -> None:
    test = _run_folder(tmp_path / "a", "20261201T080000Z-aaaaaa", None)
    check = _run_folder(tmp_path / "b", "20261201T080001Z-bbbbbb", "check")
    with pytest.raises(UsageError, match="cannot merge runs of different commands"):
        merge_runs([test, check], tmp_path / "merged")
    other = _run_folder(tmp_path / "c", "20261201T080002Z-cccccc", "test")
    _, record = merge_runs([test, other], tmp_path / "merged")
    assert record["command"] == "test"
    assert read_history(tmp_path / "merged")[-1]["command"] == "test"
