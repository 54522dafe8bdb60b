"""--reruns reaches pytest as pytest-rerunfailures' flag, and only when asked for."""

from __future__ import annotations

from pathlib import Path

from stagewise.tiers.pytest_tier import PytestRun, build_command


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


# Flaky tests now come from the attempt record, not the JUnit dialect: tests/unit/tiers/test_attempts.py
