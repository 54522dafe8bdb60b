"""The compose backend's choice of file and what it says when there is none (no daemon needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stagewise.backends.base import Environment
from stagewise.backends.compose import ComposeBackend
from stagewise.errors import ConfigError, DeployError, MissingError
from stagewise.project.loader import load_project


def backend_for(root: Path, stage: str, env: dict[str, str] | None = None) -> ComposeBackend:
    project = load_project(root)
    environment = Environment(stage=stage, project_name=project.name, root=root, env=env or {})
    return ComposeBackend.for_stage(project, project.stages[stage], environment)


def project(tmp_path: Path, toml: str, *files: str) -> Path:
    (tmp_path / "stagewise.toml").write_text(toml)
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("services: {}\n")
    return tmp_path


def test_compose_spec_names_are_used(tmp_path: Path) -> None:
    root = project(tmp_path, "", "compose.yaml", "compose.prod.yaml")
    assert backend_for(root, "dev").file == root / "compose.yaml"
    assert backend_for(root, "prod").file == root / "compose.prod.yaml"


def test_the_setting_wins_and_the_stage_setting_over_it(tmp_path: Path) -> None:
    toml = '[compose.files]\ndev = "ops/dev.yml"\n[stages.staging]\ncompose_file = "ops/stag.yml"\n'
    root = project(tmp_path, toml, "compose.dev.yaml", "docker-compose.dev.yml", "ops/dev.yml")
    assert backend_for(root, "dev").file == root / "ops/dev.yml"
    assert backend_for(root, "staging").file == root / "ops/stag.yml"


def test_two_candidates_are_refused_naming_both_and_the_setting(tmp_path: Path) -> None:
    root = project(tmp_path, "", "compose.dev.yaml", "docker-compose.dev.yml")
    with pytest.raises(ConfigError) as caught:
        backend_for(root, "dev")
    assert caught.value.exit_code == 3
    assert caught.value.key == "compose.files.dev"
    assert "docker-compose.dev.yml, compose.dev.yaml" in str(caught.value)


def test_no_file_lists_what_was_looked_for_and_why_the_base_file_is_not_prods(tmp_path: Path) -> None:
    root = project(tmp_path, "", "compose.yaml")
    backend = backend_for(root, "prod")
    assert backend.can_start() is False
    with pytest.raises(MissingError) as caught:
        backend.status()
    message = str(caught.value)
    assert "the compose file for stage prod does not exist" in message
    assert "docker-compose.prod.yml, docker-compose.prod.yaml, compose.prod.yaml, compose.prod.yml" in message
    assert "compose.yaml is dev's only: set compose.files.prod = 'compose.yaml'" in message


def test_secret_values_of_the_environment_are_masked_in_errors(tmp_path: Path) -> None:
    root = project(tmp_path, "", "compose.yaml")
    backend = backend_for(root, "dev", {"API_TOKEN": "tok-very-secret", "PORT": "8000"})
    assert backend.secrets == ["tok-very-secret"]
    assert "tok-very-secret" not in backend._mask("failed: tok-very-secret on 8000")
    assert "8000" in backend._mask("failed: tok-very-secret on 8000")


def test_a_failed_prebuild_runs_in_project_python_and_names_its_cause(tmp_path: Path) -> None:
    """Prebuild steps build the project's wheels: ``{python}`` is ``project.python``, not stagewise's."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "project-python").symlink_to(sys.executable)
    (tmp_path / "wheels.py").write_text(
        "import sys\nprint('interpreter', sys.executable)\n"
        "sys.stderr.write('ValueError: no wheel for shop\\n')\nprint('[notice] pip is old')\nsys.exit(3)\n"
    )
    root = project(
        tmp_path,
        '[project]\npython = "bin/project-python"\n[compose]\nprebuild = [["{python}", "wheels.py"]]\n',
        "compose.yaml",
    )
    lines: list[str] = []
    with pytest.raises(DeployError) as caught:
        backend_for(root, "dev").build(None, lines.append)
    assert f"interpreter {tmp_path / 'bin' / 'project-python'}" in lines
    assert str(caught.value).startswith("prebuild step failed (exit 3): ")
    assert str(caught.value).endswith(": ValueError: no wheel for shop")
