"""The env manager: file order, process precedence, required vars, masking.

How one env file is read (python-dotenv's syntax, errors by line) is in test_env_files.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ExitCode, MissingError
from stagewise.project.env import mask_text, mask_url_password, resolve_env
from stagewise.project.loader import load_project


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
