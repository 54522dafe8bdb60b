"""``stagewise deploy`` on the compose backend, against the real Docker engine.

Images come from ``stagewise images build`` (debootstrap + docker import; CI
builds them once per run). These tests need dockerd: in CI they run, never
skip. Every compose project here has a unique name and free ports, and is
taken down with its volumes at the end.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagewise.backends.base import Environment
from stagewise.backends.compose import ComposeBackend, compose_command
from stagewise.backends.compose_cli import describe, detect
from stagewise.errors import DeployError
from tests.conftest import ProjectFactory
from tests.helpers import SHOP, cli_env, free_port, run_cli

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("compose")]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def containers(project: str, running_only: bool = True) -> list[str]:
    command = ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"]
    if not running_only:
        command.insert(2, "-a")
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], str, int]]:
    """A copy of examples/shop brought up on the compose backend as staging (app + PostgreSQL)."""
    root = tmp_path_factory.mktemp("compose") / "shop"
    shutil.copytree(
        SHOP,
        root,
        ignore=shutil.ignore_patterns(".stagewise", "reports", "__pycache__", "*.db", ".pytest_cache"),
    )
    prefix = f"swt{uuid.uuid4().hex[:8]}"
    port = free_port()
    toml = (root / "stagewise.toml").read_text().replace("http://127.0.0.1:8001", f"http://127.0.0.1:{port}")
    toml = toml.replace("[compose]\n", f'[compose]\nproject_prefix = "{prefix}"\n')
    (root / "stagewise.toml").write_text(toml)
    db_port = free_port()
    toml = toml.replace("${SHOP_STAGING_DB_PORT:-55433}", str(db_port))
    (root / "stagewise.toml").write_text(toml)
    env = {
        "SHOP_API_TOKEN": f"tok-{uuid.uuid4().hex}",
        "SHOP_STAGING_PORT": str(port),
        "SHOP_STAGING_DB_PORT": str(db_port),
    }
    up = run_cli("deploy", "staging", "up", "-d", "--build", cwd=root, env=env, timeout=900)
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr
        yield root, env, f"{prefix}-staging", port
    finally:
        down = run_cli("deploy", "staging", "down", "--volumes", cwd=root, env=env)
        assert down.returncode == 0, down.stderr
        assert not containers(f"{prefix}-staging", running_only=False)
        assert not port_open(port)


def test_staging_up_status_from_the_engine(staging: tuple[Path, dict[str, str], str, int]) -> None:
    root, env, _, port = staging
    done = run_cli("deploy", "staging", "status", "--json", cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    services = {s["name"]: s for s in json.loads(done.stdout)["services"]}
    assert set(services) == {"app", "db"}
    assert all(s["state"] == "running" and s["health"] == "healthy" for s in services.values())
    assert services["app"]["port"] == port
    assert services["db"]["port"] == int(env["SHOP_STAGING_DB_PORT"]), "db is published on loopback only"
    assert port_open(port)


def test_staging_backup_and_restore_run_inside_the_db_container(
    staging: tuple[Path, dict[str, str], str, int],
) -> None:
    """pg_dump/pg_restore are the server's own, in its container; the app is stopped for the swap."""
    import psycopg

    root, env, _, port = staging
    url = f"postgresql://shop:shop-staging-db@127.0.0.1:{env['SHOP_STAGING_DB_PORT']}/shop"

    def tables() -> dict[str, list[object]]:
        with psycopg.connect(url) as db:
            names = [
                r[0]
                for r in db.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                ).fetchall()
            ]
            return {n: db.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall() for n in names}

    before = tables()
    assert "alembic_version" in before, "the app migrates its database when it starts"
    made = run_cli("deploy", "staging", "backup", cwd=root, env=env)
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    manifest = json.loads(backup.with_name(backup.name + ".json").read_text())
    assert manifest["tools"]["pg_dump_ran_in"].startswith("container ")
    assert "pg_dump (PostgreSQL) 15" in manifest["tools"]["pg_dump"]
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE written_after_the_backup (v int)")
    restored = run_cli("deploy", "staging", "restore", cwd=root, env=env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "stopped app for the swap" in restored.stderr + restored.stdout
    assert tables() == before
    health = subprocess.run(
        ["curl", "-s", f"http://127.0.0.1:{port}/health"], capture_output=True, text=True, check=False
    )
    assert json.loads(health.stdout) == {"status": "ok", "database": "ok"}


@pytest.mark.browser
def test_deploy_staging_test_runs_api_and_e2e_on_postgres(
    staging: tuple[Path, dict[str, str], str, int], tmp_path: Path
) -> None:
    root, env, _, _ = staging
    done = run_cli(
        "deploy", "staging", "test", "--reports-dir", str(tmp_path), cwd=root, env=env, timeout=600
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    assert "api          passed" in done.stdout
    assert "e2e          passed" in done.stdout
    health = subprocess.run(
        ["curl", "-s", f"http://127.0.0.1:{staging[3]}/health"], capture_output=True, text=True, check=False
    )
    assert json.loads(health.stdout) == {"status": "ok", "database": "ok"}


def test_logs_of_one_service_and_unknown_service(staging: tuple[Path, dict[str, str], str, int]) -> None:
    root, env, _, _ = staging
    logs = run_cli("deploy", "staging", "logs", "app", cwd=root, env=env)
    assert logs.returncode == 0
    assert "GET /health" in logs.stdout
    assert "database system is ready" not in logs.stdout
    unknown = run_cli("deploy", "staging", "build", "nope", cwd=root, env=env)
    assert unknown.returncode == 2
    assert "services are db, app" in unknown.stderr
    hostile = run_cli("deploy", "staging", "logs", "app;id", cwd=root, env=env)
    assert hostile.returncode == 2


def test_logs_follow_exits_cleanly_on_ctrl_c(staging: tuple[Path, dict[str, str], str, int]) -> None:
    root, env, project, _ = staging
    follower = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "staging", "logs", "-f", "app"],
        cwd=root,
        env=cli_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    follower.send_signal(signal.SIGINT)
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 130, out + err
    assert "Traceback" not in err
    assert len(containers(project)) == 2, "following logs must not stop the environment"


def test_prod_down_volumes_is_refused_without_confirmation(make_project: ProjectFactory) -> None:
    root = make_project({"docker-compose.prod.yml": "services: {}\n"})
    done = run_cli("deploy", "prod", "down", "--volumes", cwd=root)
    assert done.returncode == 2
    assert "prod is protected" in done.stderr


def test_daemon_not_reachable_is_exit_4(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"docker-compose.dev.yml": "services:\n  web:\n    image: stagewise/base:bookworm\n"})
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"}
    done = run_cli("deploy", "dev", "up", "-d", cwd=root, env=env)
    assert done.returncode == 4
    assert "the Docker daemon is not reachable" in done.stderr


def test_missing_compose_file_is_exit_4(make_project: ProjectFactory) -> None:
    root = make_project({"README": "no compose files\n"})
    done = run_cli("deploy", "staging", "status", cwd=root)
    assert done.returncode == 4
    assert "docker-compose.stag.yml" in done.stderr
    assert "does not exist" in done.stderr


def compose_project(make_project: ProjectFactory, service: str) -> tuple[Path, str]:
    prefix = f"swt{uuid.uuid4().hex[:8]}"
    root = make_project(
        {
            "stagewise.toml": f'[compose]\nproject_prefix = "{prefix}"\n',
            "docker-compose.dev.yml": f"services:\n{service}",
        }
    )
    return root, f"{prefix}-dev"


def test_a_container_that_crashes_after_start(make_project: ProjectFactory) -> None:
    service = (
        "  worker:\n    image: stagewise/base:bookworm\n"
        '    command: ["python3", "-c", "import sys, time; time.sleep(1); print(\'boom: no config\'); sys.exit(2)"]\n'
    )
    root, project = compose_project(make_project, service)
    try:
        done = run_cli("deploy", "dev", "up", "-d", cwd=root)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "service worker is exited" in done.stderr
        assert "boom: no config" in done.stderr
    finally:
        run_cli("deploy", "dev", "down", cwd=root)
    assert not containers(project, running_only=False)


def test_a_published_port_already_taken(make_project: ProjectFactory) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        service = (
            "  web:\n    image: stagewise/base:bookworm\n"
            '    command: ["python3", "-m", "http.server", "8000"]\n'
            f'    ports: ["127.0.0.1:{port}:8000"]\n'
        )
        root, _ = compose_project(make_project, service)
        try:
            done = run_cli("deploy", "dev", "up", "-d", cwd=root)
        finally:
            run_cli("deploy", "dev", "down", cwd=root)
    assert done.returncode == 1
    assert f"{describe(detect())}: `up -d` failed (exit 1): " in done.stderr
    assert "address already in use" in done.stderr.lower() or "already allocated" in done.stderr


def test_foreground_up_and_ctrl_c_stops_the_containers(make_project: ProjectFactory) -> None:
    port = free_port()
    service = (
        "  web:\n    image: stagewise/base:bookworm\n"
        '    command: ["python3", "-u", "-m", "http.server", "8000"]\n'
        f'    ports: ["127.0.0.1:{port}:8000"]\n'
    )
    root, project = compose_project(make_project, service)
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "dev", "up"],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_open(port):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 130, out + err
        assert not containers(project), "Ctrl+C left containers running"
        assert not port_open(port)
    finally:
        if process.poll() is None:
            process.kill()
        run_cli("deploy", "dev", "down", cwd=root)


def test_down_when_nothing_runs_is_not_an_error(make_project: ProjectFactory) -> None:
    service = '  web:\n    image: stagewise/base:bookworm\n    command: ["sleep", "60"]\n'
    root, project = compose_project(make_project, service)
    done = run_cli("deploy", "dev", "down", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "nothing was running" in done.stdout
    assert not containers(project, running_only=False)


def test_shop_dev_on_the_compose_backend(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(
        SHOP,
        root,
        ignore=shutil.ignore_patterns(".stagewise", "reports", "__pycache__", "*.db", ".pytest_cache"),
    )
    prefix = f"swt{uuid.uuid4().hex[:8]}"
    toml = (
        (root / "stagewise.toml")
        .read_text()
        .replace("[compose]\n", f'[compose]\nproject_prefix = "{prefix}"\n')
    )
    (root / "stagewise.toml").write_text(toml)
    port = free_port()
    env = {"SHOP_DEV_PORT": str(port)}
    try:
        up = run_cli(
            "deploy", "dev", "up", "-d", "--build", "--backend", "compose", cwd=root, env=env, timeout=900
        )
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr
        health = subprocess.run(
            ["curl", "-s", f"http://127.0.0.1:{port}/health"], capture_output=True, text=True, check=False
        )
        assert json.loads(health.stdout)["database"] == "ok"
        status = run_cli("deploy", "dev", "status", "--backend", "compose", "--json", cwd=root, env=env)
        assert [s["name"] for s in json.loads(status.stdout)["services"]] == ["app"]
    finally:
        down = run_cli("deploy", "dev", "down", "--volumes", "--backend", "compose", cwd=root, env=env)
    assert down.returncode == 0
    assert not containers(f"{prefix}-dev", running_only=False)
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q"], capture_output=True, text=True, check=True
    ).stdout
    assert f"{prefix}-dev_appdata" not in volumes


def remove_project(project: str) -> None:
    """Whatever a test left of a compose project (one-off containers included), with its volumes."""
    for container in containers(project, running_only=False):
        subprocess.run(["docker", "rm", "-f", "-v", container], capture_output=True, check=False)


def test_a_one_shot_service_that_exits_0_is_done_not_broken(make_project: ProjectFactory) -> None:
    port = free_port()
    services = (
        "  migrate:\n    image: stagewise/base:bookworm\n"
        '    command: ["python3", "-c", "print(1)"]\n'
        "  web:\n    image: stagewise/base:bookworm\n"
        '    command: ["python3", "-m", "http.server", "8000"]\n'
        f'    ports: ["127.0.0.1:{port}:8000"]\n'
    )
    root, project = compose_project(make_project, services)
    try:
        done = run_cli("deploy", "dev", "up", "-d", cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "migrate | completed (exit 0)" in done.stdout
        assert "dev is up" in done.stdout
        assert port_open(port)
        status = run_cli("deploy", "dev", "status", "--json", cwd=root)
        states = {s["name"]: (s["state"], s["exit_code"]) for s in json.loads(status.stdout)["services"]}
        assert states == {"migrate": ("exited", 0), "web": ("running", None)}
    finally:
        down = run_cli("deploy", "dev", "down", "--volumes", cwd=root)
        remove_project(project)
    assert down.returncode == 0, down.stderr


def test_a_failed_one_off_run_container_does_not_count_as_a_service(make_project: ProjectFactory) -> None:
    service = (
        '  web:\n    image: stagewise/base:bookworm\n    command: ["python3", "-m", "http.server", "8000"]\n'
    )
    root, project = compose_project(make_project, service)
    compose = [*compose_command(), "-f", str(root / "docker-compose.dev.yml"), "-p", project]
    try:
        one_off = subprocess.run(
            [*compose, "run", "web", "python3", "-c", "import sys; sys.exit(3)"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert one_off.returncode == 3, one_off.stdout + one_off.stderr
        assert containers(project, running_only=False), "the one-off container is kept (no --rm)"
        done = run_cli("deploy", "dev", "up", "-d", cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
        status = run_cli("deploy", "dev", "status", "--json", cwd=root)
        services = json.loads(status.stdout)["services"]
        assert [(s["name"], s["state"]) for s in services] == [("web", "running")]
    finally:
        run_cli("deploy", "dev", "down", "--volumes", cwd=root)
        remove_project(project)
    assert not containers(project, running_only=False)


def test_a_compose_command_that_hangs_is_a_deploy_error_naming_it(make_project: ProjectFactory) -> None:
    """``logs -f`` never ends by itself: a real hang, met by the bounded ``_run`` (900 s in use)."""
    service = (
        '  web:\n    image: stagewise/base:bookworm\n    command: ["python3", "-m", "http.server", "8000"]\n'
    )
    root, project = compose_project(make_project, service)
    backend = ComposeBackend(
        Environment(stage="dev", project_name="x", root=root, env=cli_env()),
        "docker-compose.dev.yml",
        prefix=project.removesuffix("-dev"),
    )
    try:
        assert run_cli("deploy", "dev", "up", "-d", cwd=root).returncode == 0
        with pytest.raises(DeployError) as caught:
            backend._run("logs", "-f", "web", timeout=2)
        message = str(caught.value)
        assert "logs -f web` did not finish within 2 s" in message
        assert f"-p {project}" in message
    finally:
        run_cli("deploy", "dev", "down", "--volumes", cwd=root)
        remove_project(project)
    assert not containers(project, running_only=False)
