"""Backend logic that needs no processes: order, placeholders, names, error lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.backends.base import Environment, ServiceStatus
from stagewise.backends.compose import _ready, project_name
from stagewise.backends.compose_cli import compose_cause
from stagewise.backends.local import LocalBackend
from stagewise.backends.registry import default_backend
from stagewise.errors import ConfigError, UsageError
from stagewise.project.loader import load_project
from stagewise.project.model import Project


def project_with(tmp_path: Path, toml: str) -> Project:
    (tmp_path / "stagewise.toml").write_text(toml)
    return load_project(tmp_path)


SERVICES = """
[services.db]
command = ["db-server", "--port", "{port}"]
port = 5433

[services.api]
command = ["api", "--db", "127.0.0.1:5433", "--port", "{port}", "--data", "{state_dir}/x"]
port = { dev = 8000, test = 8010 }
depends_on = ["db"]
stages = ["dev", "test"]

[services.worker]
command = ["worker"]
depends_on = ["api", "db"]
"""


def local(tmp_path: Path, stage: str = "dev") -> LocalBackend:
    project = project_with(tmp_path, SERVICES)
    environment = Environment(stage, project.name, project.root, {})
    return LocalBackend(environment, project.services)


def test_dependency_order_and_stage_filter(tmp_path: Path) -> None:
    assert [s.name for s in local(tmp_path)._order()] == ["db", "api", "worker"]
    project = project_with(tmp_path, SERVICES)
    staging = LocalBackend(Environment("staging", "p", tmp_path, {}), project.services)
    assert list(staging.services()) == ["db", "worker"]


def test_placeholders_per_stage(tmp_path: Path) -> None:
    backend = local(tmp_path, "test")
    api = backend.all_services["api"]
    filled = [backend._fill(part, api) for part in api.command]
    assert filled[4] == "8010"
    assert filled[6] == f"{tmp_path}/.stagewise/test/x"


def test_unknown_service_names_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="services are db, api, worker"):
        local(tmp_path)._check_name("api; rm -rf /")


def test_cycles_and_unknown_dependencies_are_config_errors(tmp_path: Path) -> None:
    cycle = '[services.a]\ncommand = ["a"]\ndepends_on = ["b"]\n[services.b]\ncommand = ["b"]\ndepends_on = ["a"]\n'
    with pytest.raises(ConfigError, match="dependency cycle: a -> b -> a"):
        project_with(tmp_path, cycle)
    missing = '[services.a]\ncommand = ["a"]\ndepends_on = ["ghost"]\n'
    with pytest.raises(ConfigError, match="unknown service 'ghost'"):
        project_with(tmp_path, missing)
    shell = '[services.a]\ncommand = "a && b"\n'
    with pytest.raises(ConfigError, match="command"):
        project_with(tmp_path, shell.replace('"a && b"', "42"))


def test_default_backend(tmp_path: Path) -> None:
    project = project_with(tmp_path, SERVICES + '\n[stages.prod]\nbackend = "compose"\n')
    assert default_backend(project, project.stages["dev"]) == "local"
    assert default_backend(project, project.stages["prod"]) == "compose"
    (tmp_path / "x").mkdir()
    empty = project_with(tmp_path / "x", "")
    assert default_backend(empty, empty.stages["dev"]) == "compose"


def test_compose_names_and_error_lines() -> None:
    assert project_name("My Shop", "staging") == "my-shop-staging"
    stderr = (
        "Creating x_web_1 ... error\n\nERROR: for web  Cannot start service web: bind: address already in use\n"
        "Encountered errors while bringing up the project.\n"
    )
    assert compose_cause(stderr) == "Cannot start service web: bind: address already in use"


@pytest.mark.parametrize(
    ("status", "ready"),
    [
        (ServiceStatus("a", "running", "healthy"), True),
        (ServiceStatus("a", "running", "starting"), False),
        (ServiceStatus("a", "running", "none", uptime_s=1.0), False),
        (ServiceStatus("a", "running", "none", uptime_s=5.0), True),
        (ServiceStatus("a", "exited", "none", uptime_s=50.0), False),
    ],
)
def test_ready_needs_health_or_settled_uptime(status: ServiceStatus, ready: bool) -> None:
    assert _ready(status) is ready
