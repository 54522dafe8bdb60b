"""--reruns reaches pytest as pytest-rerunfailures' flag, and only when asked for."""

from __future__ import annotations

from pathlib import Path

from stagewise.tiers.pytest_tier import PytestRun, _flaky, build_command
from stagewise.tiers.result import FlakyTest


def make_run(tmp_path: Path, reruns: int) -> PytestRun:
    return PytestRun(
        tier="unit",
        python="/usr/bin/python3",
        cwd=tmp_path,
        paths=("tests/unit",),
        env={},
        junit_path=tmp_path / "j.xml",
        log_path=tmp_path / "l.log",
        reruns=reruns,
    )


def test_reruns_flag_only_when_asked(tmp_path: Path) -> None:
    assert "--reruns" not in build_command(make_run(tmp_path, 0))
    command = build_command(make_run(tmp_path, 3))
    assert command[command.index("--reruns") + 1] == "3"
    assert "pytest_rerunfailures" not in command  # loaded by its entry point; -p would register it twice


def test_flaky_tests_come_from_the_junit_file(tmp_path: Path) -> None:
    (tmp_path / "j.xml").write_text(
        "<testsuites><testsuite tests='2' failures='0' errors='0' skipped='0'>"
        "<testcase classname='t' name='a' time='0.1'/><testcase classname='t' name='a' time='0.1'/>"
        "<testcase classname='t' name='b' time='0.1'/></testsuite></testsuites>"
    )
    # The same facts as the old ``extra`` dict, now typed fields of TierResult (issue 13).
    assert _flaky(make_run(tmp_path, 2)) == (FlakyTest("t::a", 1),)
    assert _flaky(make_run(tmp_path, 0)) == ()
