"""The CLI boundary: typed errors become one line on stderr and their exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.cli import main
from stagewise.errors import ConfigError, ExitCode, InterruptedRun, MissingError, UsageError


def test_exit_code_table_is_the_designs() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5, 130]
    assert UsageError("x").exit_code == 2
    assert ConfigError("f", "k", "p").exit_code == 3
    assert MissingError("x").exit_code == 4
    assert ExitCode.NO_TESTS == 5  # no tests is a tier result (TierStatus.NO_TESTS), not an error
    assert InterruptedRun("x").exit_code == 130


def test_unknown_flag_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "--invalid-arg"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "unrecognized arguments: --invalid-arg" in err
    assert "stagewise test -h" in err


def test_unknown_stage_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "--stage", "invalid_stage", "--project", str(tmp_path)]) == 2
    assert "valid stages are dev, test, staging, prod" in capsys.readouterr().err


def test_bad_host_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "--api", "--host", "localhost:8000", "--project", str(tmp_path)]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err


def test_invalid_project_file_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stagewise.toml").write_text("[stages.dev]\nprotected = 'maybe'\n")
    assert main(["test", "--project", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "stagewise.toml: stages.dev.protected: must be true or false" in err


def test_help_lists_every_flag_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["test", "-h"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--unit",
        "--integration",
        "--api",
        "--e2e",
        "--all",
        "--stage",
        "--coverage",
        "--verbose",
        "--host",
        "--no-headless",
    ):
        lines = [line for line in out.splitlines() if line.strip().startswith(flag)]
        assert len(lines) == 1, flag
        assert len(lines[0].split(maxsplit=1)) == 2 or "STAGE" in lines[0] or "URL" in lines[0], flag


def test_no_arguments_prints_help_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "test" in capsys.readouterr().err
