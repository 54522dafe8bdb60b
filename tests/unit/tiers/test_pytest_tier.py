"""The pytest command line a tier builds, and how pytest's exit codes are judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.tiers.pytest_tier import BrowserRun, CoverageRun, PytestRun, _judge, build_command, child_env
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
    assert "--junitxml" in command
    assert "-v" not in command


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
    assert command[command.index("-p") + 1] == "stagewise_browser"
    assert "--headed" in command
    env = child_env(run)
    assert env["STAGEWISE_BROWSER_EXECUTABLE"] == "/usr/bin/chromium"
    assert env["STAGEWISE_HEADLESS"] == "0"
    assert "pytest_plugins" in env["PYTHONPATH"]


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
