"""Writing the project file and .gitignore: never replace without force, never duplicate lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ConfigError, ExitCode, UsageError
from stagewise.scaffold import update_gitignore, write_project_file

TEXT = '[project]\nname = "p"\n'


def test_existing_file_is_refused_without_force_and_replaced_with_it(tmp_path: Path) -> None:
    (tmp_path / "stagewise.toml").write_text("# mine\n")
    with pytest.raises(UsageError, match="already exists; not overwritten") as caught:
        write_project_file(tmp_path, TEXT, force=False)
    assert caught.value.exit_code == ExitCode.USAGE
    assert (tmp_path / "stagewise.toml").read_text() == "# mine\n"
    write_project_file(tmp_path, TEXT, force=True)
    assert (tmp_path / "stagewise.toml").read_text() == TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stagewise.toml"]


def test_tool_table_in_pyproject_counts_as_existing(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\[tool.stagewise\]"):
        write_project_file(tmp_path, TEXT, force=False, has_tool_table=True)
    assert not (tmp_path / "stagewise.toml").exists()


def test_text_that_does_not_load_is_never_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        write_project_file(tmp_path, "[project]\nbogus = 1\n", force=False)
    assert not (tmp_path / "stagewise.toml").exists()


def test_gitignore_is_created_then_only_gains_missing_lines(tmp_path: Path) -> None:
    assert update_gitignore(tmp_path) == ("reports/", "backups/", ".stagewise/")
    assert update_gitignore(tmp_path) == ()
    assert (tmp_path / ".gitignore").read_text() == "reports/\nbackups/\n.stagewise/\n"


def test_gitignore_equivalent_entries_count_and_a_missing_newline_is_added(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("/reports\n*.pyc")
    assert update_gitignore(tmp_path) == ("backups/", ".stagewise/")
    assert (tmp_path / ".gitignore").read_text() == "/reports\n*.pyc\nbackups/\n.stagewise/\n"
