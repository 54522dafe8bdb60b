"""The backends registry builds each backend by name; the new protocol methods need no daemon."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stagewise.backends.compose import ComposeBackend
from stagewise.backends.local import LocalBackend
from stagewise.backends.registry import can_start, make_backend
from stagewise.errors import UsageError
from stagewise.plugins.backends import BACKENDS
from stagewise.project.loader import load_project

SERVICES = """
[project]
name = "reg"

[services.app]
command = ["{python}", "-c", "import time; time.sleep(60)"]
port = 8123
"""


def test_the_registry_lists_each_backend_with_its_metadata() -> None:
    assert BACKENDS.names() == ("local", "compose", "swarm")
    compose = BACKENDS.get("compose")
    assert compose is not None
    assert compose.tool == "docker"
    assert all(spec.implementation for spec in BACKENDS)


def test_make_backend_builds_by_name_and_lists_the_valid_ones(tmp_path: Path) -> None:
    (tmp_path / "stagewise.toml").write_text(SERVICES)
    project = load_project(tmp_path)
    assert isinstance(make_backend(project, project.stages["dev"], {}), LocalBackend)
    compose = make_backend(project, project.stages["staging"], {}, "compose")
    assert isinstance(compose, ComposeBackend)
    assert compose.file == (tmp_path / project.compose.file_for("staging")).resolve()
    with pytest.raises(UsageError, match="unknown backend 'k8s': backends are local, compose, swarm"):
        make_backend(project, project.stages["dev"], {}, "k8s")


def test_can_start_health_and_exec_without_starting_anything(tmp_path: Path) -> None:
    (tmp_path / "stagewise.toml").write_text(SERVICES)
    project = load_project(tmp_path)
    local = make_backend(project, project.stages["dev"], {"REG": "from-env"})
    assert local.can_start() is True
    assert local.health("app") is False  # not running
    lines: list[str] = []
    code = local.exec("app", [sys.executable, "-c", "import os; print(os.environ['REG'])"], lines.append)
    assert (code, lines) == (0, ["app | from-env"])
    with pytest.raises(UsageError, match="services are app"):
        local.exec("nope", ["true"], lines.append)
    compose = make_backend(project, project.stages["staging"], {}, "compose")
    assert compose.can_start() is False  # no compose file
    (tmp_path / project.compose.file_for("staging")).write_text("services: {}\n")
    assert compose.can_start() is True


def test_a_local_stage_without_services_has_nothing_to_start(tmp_path: Path) -> None:
    (tmp_path / "stagewise.toml").write_text('[project]\nname = "bare"\n[stages.dev]\nbackend = "local"\n')
    project = load_project(tmp_path)
    assert can_start(project, project.stages["dev"]) is False
    assert can_start(project, project.stages["staging"]) is False  # compose, but no compose file
