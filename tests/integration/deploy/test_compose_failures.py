"""A compose ``up`` that fails, a pull with no registry, and ``down`` on prod — on the real engine.

Images come from ``stagewise images build`` (never pulled; no registry is
reachable here). Each project has a unique compose project name; what a test
leaves is removed at its end, volumes included.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from stagewise.backends.compose_cli import describe, detect
from tests.conftest import ProjectFactory
from tests.helpers import cli_env, run_cli, typed_at_a_terminal

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("compose")]

BASE = "stagewise/base:bookworm"


def engine(*args: str) -> list[str]:
    """``docker ARGS`` output split into words (ids, names)."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.split()


def left_of(project: str) -> dict[str, list[str]]:
    """Containers, networks and volumes the engine has for a compose project."""
    label = f"label=com.docker.compose.project={project}"
    return {
        "containers": engine("ps", "-a", "-q", "--filter", label),
        "networks": engine("network", "ls", "-q", "--filter", label),
        "volumes": engine("volume", "ls", "-q", "--filter", label),
    }


def remove(project: str) -> None:
    for kind, ids in left_of(project).items():
        if ids:
            command = {
                "containers": ["rm", "-f"],
                "networks": ["network", "rm"],
                "volumes": ["volume", "rm", "-f"],
            }
            subprocess.run(["docker", *command[kind], *ids], capture_output=True, check=False)


def no_terminal(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI with stdin that is not a terminal (as in CI or a cron job)."""
    return subprocess.run(
        [sys.executable, "-m", "stagewise", *args],
        cwd=cwd,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def web(health: str, volume: bool = True) -> str:
    """A compose file (Compose-spec syntax) with one web service whose health check is ``health``."""
    text = (
        f"services:\n  web:\n    image: {BASE}\n"
        '    command: ["python3", "-m", "http.server", "8000"]\n'
        "    stop_signal: SIGINT\n"  # python as pid 1 has no SIGTERM handler: stops at once on INT
        f"    healthcheck:\n      test: {health}\n      interval: 1s\n      retries: 2\n"
    )
    if volume:
        text += '    volumes: ["webdata:/data"]\nvolumes:\n  webdata: {}\n'
    return text


NEVER_HEALTHY = '["CMD", "python3", "-c", "import sys; print(\'probe: port 9999 refused\'); sys.exit(1)"]'


APP_AFTER_WEB = (
    f"  app:\n    image: {BASE}\n"
    '    command: ["sleep", "300"]\n'
    "    depends_on:\n      web:\n        condition: service_healthy\n"
)


def test_a_failed_up_removes_what_it_made_and_prints_the_health_log(make_project: ProjectFactory) -> None:
    """compose.yaml (a Compose-spec name) is dev's file; app waits for web, whose check never passes.

    compose itself fails the ``up`` (``condition: service_healthy``), as on examples/shop's staging.
    """
    prefix = f"swt{uuid.uuid4().hex[:8]}"
    compose = web(NEVER_HEALTHY).replace("volumes:\n  webdata", APP_AFTER_WEB + "volumes:\n  webdata")
    root = make_project(
        {"stagewise.toml": f'[compose]\nproject_prefix = "{prefix}"\n', "compose.yaml": compose}
    )
    project = f"{prefix}-dev"
    try:
        done = run_cli("deploy", "dev", "up", "-d", cwd=root)
        left = left_of(project)
    finally:
        remove(project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith(f"stagewise: error: {describe(detect())}: `up -d` failed (exit 1): ")
    assert "service web is unhealthy" in done.stderr
    assert re.search(r"its health check, last [23] runs:", done.stderr), done.stderr
    assert "exit 1: probe: port 9999 refused" in done.stderr
    assert re.search(rf"removed containers? [^;]*{project}[_-]web[_-]1", done.stderr), done.stderr
    assert f"removed network {project}_default" in done.stderr
    assert f"removed new volume {project}_webdata" in done.stderr
    assert left == {"containers": [], "networks": [], "volumes": []}, "the failed up left something behind"


def test_a_failed_up_keeps_a_volume_that_already_held_data(make_project: ProjectFactory) -> None:
    prefix = f"swt{uuid.uuid4().hex[:8]}"
    root = make_project(
        {
            "stagewise.toml": f'[compose]\nproject_prefix = "{prefix}"\n',
            "compose.yaml": web('["CMD", "true"]'),
        }
    )
    project = f"{prefix}-dev"
    volume = f"{project}_webdata"
    try:
        first = run_cli("deploy", "dev", "up", "-d", cwd=root)
        assert first.returncode == 0, first.stdout + first.stderr
        (container,) = engine("ps", "-q", "--filter", f"label=com.docker.compose.project={project}")
        engine("exec", container, "python3", "-c", "open('/data/orders.txt', 'w').write('order 1')")
        (root / "compose.yaml").write_text(web(NEVER_HEALTHY))
        failed = run_cli("deploy", "dev", "up", "-d", cwd=root)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "probe: port 9999 refused" in failed.stderr
        left = left_of(project)
        kept = subprocess.run(
            ["docker", "run", "--rm", "-v", f"{volume}:/data", BASE, "cat", "/data/orders.txt"],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        remove(project)
    assert left["containers"] == [], "the container this up recreated is removed"
    assert left["volumes"] == [volume]
    assert len(left["networks"]) == 1, "the network was there before this up: kept"
    assert "volume" not in failed.stderr.split("cleaned up after the failed up:")[-1]
    assert kept.stdout == "order 1"


def test_a_pull_with_no_registry_says_so_and_names_images_build(make_project: ProjectFactory) -> None:
    prefix = f"swt{uuid.uuid4().hex[:8]}"
    image = f"stagewise-test/not-built-{uuid.uuid4().hex[:6]}:1.0"
    root = make_project(
        {
            "stagewise.toml": f'[compose]\nproject_prefix = "{prefix}"\n',
            "compose.dev.yaml": f"services:\n  web:\n    image: {image}\n    pull_policy: if_not_present\n",
        }
    )
    try:
        done = run_cli("deploy", "dev", "up", "-d", cwd=root)
        left = left_of(f"{prefix}-dev")
    finally:
        remove(f"{prefix}-dev")
    assert done.returncode == 1, done.stdout + done.stderr
    error = done.stderr.splitlines()[0]
    assert error.startswith(f"stagewise: error: {describe(detect())}: `up -d` could not pull image {image}")
    assert "no registry is reachable" in error or "the registry has no such image" in error
    assert "`stagewise images build`" in error
    assert "Traceback" not in done.stderr
    assert left["networks"] == []


def test_prod_down_is_confirmed_refused_without_a_terminal(make_project: ProjectFactory) -> None:
    """``down`` on prod is downtime: no --yes and no terminal is exit 2; the stage name typed goes on."""
    prefix = f"swt{uuid.uuid4().hex[:8]}"
    root = make_project(
        {
            "stagewise.toml": f'[compose]\nproject_prefix = "{prefix}"\n',
            "compose.prod.yaml": (
                f"services:\n  web:\n    image: {BASE}\n"
                '    command: ["python3", "-m", "http.server", "8000"]\n    stop_signal: SIGINT\n'
            ),
        }
    )
    project = f"{prefix}-prod"
    label = f"label=com.docker.compose.project={project}"
    try:
        up = no_terminal("deploy", "prod", "up", "-d", cwd=root)
        assert up.returncode == 0, up.stdout + up.stderr
        refused = no_terminal("deploy", "prod", "down", cwd=root)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "prod is protected: refusing to stop it (down: downtime until the next up) without --yes" in (
            refused.stderr
        )
        assert len(engine("ps", "-q", "--filter", label)) == 1, "refused, yet something was stopped"
        typed = typed_at_a_terminal(root, ["deploy", "prod", "down"], b"prod\n")
        assert typed[0] == 0, typed
        assert "prod: stopped web" in typed[1]
        assert engine("ps", "-a", "-q", "--filter", label) == []
    finally:
        remove(project)
