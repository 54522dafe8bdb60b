"""The pytest command line a tier builds, and how pytest's exit codes are judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stagewise.tiers.pytest_tier import (
    BrowserRun,
    CoverageRun,
    PytestRun,
    _judge,
    build_command,
    child_env,
    marker_names,
)
from stagewise.tiers.result import TestCounts, TierStatus


def make_run(tmp_path: Path, **overrides: object) -> PytestRun:
    fields: dict[str, object] = {
        "tier": "unit",
        "python": "/usr/bin/python3",
        "cwd": tmp_path,
        "paths": ("tests/unit",),
        "env": {},
        "junit_path": tmp_path / "j.xml",
        "log_path": tmp_path / "l.log",
    }
    fields.update(overrides)
    return PytestRun(**fields)  # type: ignore[arg-type]


def test_plain_command(tmp_path: Path) -> None:
    command = build_command(make_run(tmp_path))
    assert command[:4] == ["/usr/bin/python3", "-m", "pytest", "tests/unit"]
    assert "--junitxml" not in command  # a project's own --junitxml in addopts must keep working
    assert command[command.index("-p") + 1] == "stagewise_record"
    assert "-v" not in command
    env = child_env(make_run(tmp_path, markers="smoke and not (slow or db)"))
    assert "pytest_plugins" in env["PYTHONPATH"]
    assert env["STAGEWISE_RECORD_FILE"] == str(tmp_path / "j.attempts.jsonl")
    assert json.loads(env["STAGEWISE_MARKERS"]) == ["smoke", "slow", "db"]


def test_verbose_markers_and_coverage(tmp_path: Path) -> None:
    coverage = CoverageRun(("shop",), tmp_path / ".cov")
    command = build_command(make_run(tmp_path, verbose=True, markers="smoke", coverage=coverage))
    assert "-v" in command
    assert command[command.index("-m", 3) + 1] == "smoke"
    assert "--cov=shop" in command
    assert "--cov-report=" in command, "pytest-cov writes no report of its own; stagewise writes them once"
    assert "--cov-fail-under=0" in command, "the project's fail-under is stagewise's gate, not the tier's"
    assert child_env(make_run(tmp_path, coverage=coverage))["COVERAGE_FILE"] == str(tmp_path / ".cov")


def test_browser_runs_load_the_system_browser_plugin(tmp_path: Path) -> None:
    browser = BrowserRun("/usr/bin/chromium", ("--no-sandbox",), headless=False)
    run = make_run(tmp_path, browser=browser)
    command = build_command(run)
    assert "stagewise_browser" in [command[i + 1] for i, arg in enumerate(command) if arg == "-p"]
    assert "--headed" in command
    env = child_env(run)
    assert env["STAGEWISE_BROWSER_EXECUTABLE"] == "/usr/bin/chromium"
    assert env["STAGEWISE_HEADLESS"] == "0"
    assert "pytest_plugins" in env["PYTHONPATH"]


def test_browser_runs_pass_the_target_as_base_url_before_the_tiers_own_args(tmp_path: Path) -> None:
    browser = BrowserRun("/usr/bin/chromium", (), headless=True)
    url = "http://127.0.0.1:8123"
    command = build_command(
        make_run(tmp_path, browser=browser, base_url=url, args=("--base-url", "http://x"))
    )
    first = command.index("--base-url")
    assert command[first + 1] == url
    assert command.index("--base-url", first + 1) > first  # the tier's own args come after and win
    assert "--base-url" not in build_command(make_run(tmp_path, base_url=url))  # no browser, no base URL


@pytest.mark.parametrize(
    ("code", "counts", "status"),
    [
        (0, TestCounts(3), TierStatus.PASSED),
        (0, TestCounts(0), TierStatus.NO_TESTS),
        (0, TestCounts(3, failures=1), TierStatus.FAILED),
        (1, TestCounts(3, failures=1), TierStatus.FAILED),
        (1, TestCounts(3, errors=2), TierStatus.ERROR),
        (1, TestCounts(0), TierStatus.ERROR),
        (2, TestCounts(0), TierStatus.ERROR),
        (3, TestCounts(0), TierStatus.ERROR),
        (4, TestCounts(0), TierStatus.ERROR),
        (5, TestCounts(0), TierStatus.NO_TESTS),
    ],
)
def test_exit_codes_and_counts_are_judged_together(
    tmp_path: Path, code: int, counts: TestCounts, status: TierStatus
) -> None:
    judged, message = _judge(make_run(tmp_path), code, counts, ["E   SyntaxError: invalid syntax"])
    assert judged is status
    if status is TierStatus.ERROR and counts.tests == 0:
        assert "SyntaxError" in message


COVERAGE_TAIL = [
    "ERROR: Coverage failure: total of 50 is less than fail-under=100",
    "---------- coverage: platform linux, python 3.11.7-final-0 -----------",
    "app.py       4      2    50%",
    "FAIL Required test coverage of 100% not reached. Total coverage: 50.00%",
    "============================== 2 passed in 0.05s ===============================",
]


def test_a_failed_run_without_a_failing_test_says_pytests_own_reason(tmp_path: Path) -> None:
    reasons = [COVERAGE_TAIL[0], COVERAGE_TAIL[3]]
    status, message = _judge(make_run(tmp_path), 1, TestCounts(2), COVERAGE_TAIL, reasons=reasons)
    assert status is TierStatus.FAILED
    assert message.endswith("FAIL Required test coverage of 100% not reached. Total coverage: 50.00%")
    assert "0 failed" not in message
    # another plugin's reason: the line that names it, not pytest's closing "2 passed" line
    tail = ["E   pluggy.PluginValidationError: unknown hook 'pytest_foo'", "=== 2 passed in 0.05s ==="]
    assert "PluginValidationError" in _judge(make_run(tmp_path), 1, TestCounts(2), tail)[1]


def test_no_record_is_an_error_with_pytests_reason(tmp_path: Path) -> None:
    tail = [
        "ImportError while loading conftest '/p/conftest.py'.",
        "E   ModuleNotFoundError: No module named 'x'",
    ]
    status, message = _judge(make_run(tmp_path), 0, TestCounts(), tail, recorded=False)
    assert status is TierStatus.ERROR
    assert "ModuleNotFoundError" in message


def test_collection_errors_are_named_in_the_message(tmp_path: Path) -> None:
    errors = ["tests/test_b.py: SyntaxError: invalid syntax", "tests/test_c.py: ImportError: x"]
    status, message = _judge(make_run(tmp_path), 2, TestCounts(2, errors=2), [], collection_errors=errors)
    assert status is TierStatus.ERROR
    assert message == "pytest could not collect tests/test_b.py: SyntaxError: invalid syntax (and 1 more)"


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        (None, []),
        ("smoke", ["smoke"]),
        ("smoke and not (slow or db)", ["smoke", "slow", "db"]),
        ("not slow and not slow", ["slow"]),
        ("flaky(reruns=3) or api", ["flaky", "api"]),
        ("param(name='x y')", ["param"]),
    ],
)
def test_marker_names_of_a_markers_expression(expression: str | None, names: list[str]) -> None:
    assert marker_names(expression) == names
