"""The env manager: file order, process precedence, required vars, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ConfigError, ExitCode, MissingError
from stagewise.project.env import mask_text, mask_url_password, parse_env_file, resolve_env
from stagewise.project.loader import load_project


def test_dotenv_syntax(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# comment\n\nA=1\nexport B = two words\nC=\"quoted # not a comment\"\nD='single'\nE=x # trailing\n",
        encoding="utf-8",
    )
    assert parse_env_file(path) == {
        "A": "1",
        "B": "two words",
        "C": "quoted # not a comment",
        "D": "single",
        "E": "x",
    }


def test_a_bad_line_is_a_config_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1\nthis is not a variable\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2"):
        parse_env_file(path)


def test_stage_file_overrides_base_and_process_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=base\nB=base\nC=base\n", encoding="utf-8")
    (tmp_path / ".env.staging").write_text("B=staging\nC=staging\n", encoding="utf-8")
    project = load_project(tmp_path)
    resolved = resolve_env(project, project.stages["staging"], {"C": "process"})
    values = {name: (v.value, v.source) for name, v in resolved.variables.items()}
    assert values == {"A": ("base", ".env"), "B": ("staging", ".env.staging"), "C": ("process", "process")}
    assert resolved.files_read == (".env", ".env.staging")


def test_a_missing_required_variable_is_named(tmp_path: Path) -> None:
    (tmp_path / "stagewise.toml").write_text('[stages.staging]\nrequired_env = ["DB_PASSWORD"]\n')
    project = load_project(tmp_path)
    with pytest.raises(MissingError) as caught:
        resolve_env(project, project.stages["staging"], {})
    assert caught.value.exit_code == ExitCode.MISSING
    assert "DB_PASSWORD" in str(caught.value)
    assert ".env.staging" in str(caught.value)
    resolved = resolve_env(project, project.stages["staging"], {"DB_PASSWORD": "hunter22"})
    assert resolved.variables["DB_PASSWORD"].shown() == "***"


def test_secret_values_are_masked_in_text() -> None:
    assert mask_text("token is abcd1234 ok", ["abcd1234"]) == "token is *** ok"
    assert mask_url_password("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert mask_url_password("http://example.com:8000/path") == "http://example.com:8000/path"
