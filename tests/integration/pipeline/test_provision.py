"""``stagewise test`` starting a stage itself: it stops only what it started.

Real processes on free ports (the local backend); a stage that was partly up
before the run is left exactly as partly up afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory
from tests.helpers import free_port, run_cli, term_ignoring_server

API_TEST = """
import os
import urllib.request


def test_the_app_answers():
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(os.environ["STAGEWISE_BASE_URL"] + "/", timeout=5) as response:
        assert response.status == 200
"""


def two_services(app: int, db: int, stage: str = "dev") -> str:
    return f"""
[stages.{stage}]
base_url = "http://127.0.0.1:{app}"

[services.db]
command = ["{{python}}", "-m", "http.server", "{{port}}", "--bind", "127.0.0.1"]
port = {db}
health = {{ tcp = "{{port}}", timeout = 20 }}

[services.app]
command = ["{{python}}", "-m", "http.server", "{{port}}", "--bind", "127.0.0.1"]
port = {app}
depends_on = ["db"]
health = {{ http = "http://127.0.0.1:{{port}}/", timeout = 20 }}
"""


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def two_service_project(make_project: ProjectFactory) -> Iterator[tuple[Path, int, int]]:
    app, db = free_port(), free_port()
    root = make_project({"stagewise.toml": two_services(app, db), "tests/api/test_app.py": API_TEST})
    yield root, app, db
    run_cli("deploy", "dev", "down", cwd=root)
    assert not port_open(app)
    assert not port_open(db)


def kill_service(root: Path, name: str) -> None:
    """SIGKILL one service's process group, as a crash would."""
    status = run_cli("deploy", "dev", "status", "--json", cwd=root)
    pid = next(s["pid"] for s in json.loads(status.stdout)["services"] if s["name"] == name)
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_auto_start_leaves_an_already_running_service_running(
    two_service_project: tuple[Path, int, int],
) -> None:
    root, app, db = two_service_project
    up = run_cli("deploy", "dev", "up", "-d", cwd=root)
    assert up.returncode == 0, up.stdout + up.stderr
    kill_service(root, "app")
    assert not port_open(app)
    assert port_open(db)

    done = run_cli("test", "--api", "--stage", "dev", cwd=root)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"nothing answers at http://127.0.0.1:{app}: starting dev" in done.stdout
    assert "db | already running" in done.stdout
    assert "stopped dev (app); left db running as found" in done.stdout
    assert not port_open(app), "the app this run started was left running"
    assert port_open(db), "the run stopped db, which it had not started"
    status = run_cli("deploy", "dev", "status", "--json", cwd=root)
    states = {s["name"]: s["state"] for s in json.loads(status.stdout)["services"]}
    assert states == {"db": "running", "app": "stopped"}


def test_auto_start_from_nothing_stops_everything_it_started(
    two_service_project: tuple[Path, int, int],
) -> None:
    root, app, db = two_service_project
    done = run_cli("test", "--api", "--stage", "dev", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stopped dev (app, db)" in done.stdout
    assert not port_open(app)
    assert not port_open(db)


def test_a_protected_stage_is_never_started_by_a_test_run(make_project: ProjectFactory) -> None:
    app, db = free_port(), free_port()
    toml = two_services(app, db, stage="prod").replace("[stages.prod]\n", "[stages.prod]\nprotected = true\n")
    root = make_project({"stagewise.toml": toml, "tests/api/test_app.py": API_TEST})
    try:
        done = run_cli("test", "--api", "--stage", "prod", cwd=root)
        assert done.returncode == 4, done.stdout + done.stderr
        assert "prod is protected, so a test run never starts it" in done.stdout
        assert "stagewise deploy prod up -d" in done.stdout
        assert "starting prod" not in done.stdout
        assert not port_open(app)
        assert not port_open(db)
        assert not (root / ".stagewise" / "prod").exists(), "a backend touched the protected stage"
    finally:
        run_cli("deploy", "prod", "down", "--yes", cwd=root)


STUBBORN_APP = """
[stages.test]
base_url = "http://127.0.0.1:{port}"

[services.app]
command = ["{{python}}", "-c", "{script}"]
port = {port}
health = {{ tcp = "{{port}}", timeout = 20 }}
"""

SLOW_API_TEST = """
import os, pathlib, time


def test_waits():
    pathlib.Path(os.environ["MARKER"]).write_text("running")
    time.sleep(60)
"""


def test_ctrl_c_twice_still_stops_the_stage_the_run_started(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    """The app ignores TERM, so stopping it waits out the grace period before KILL; the second
    Ctrl+C lands in that wait and must not leave the stage running."""
    import subprocess
    import sys

    from tests.helpers import cli_env

    port = free_port()
    script = term_ignoring_server(port)
    root = make_project(
        {
            "stagewise.toml": STUBBORN_APP.format(port=port, script=script),
            "tests/api/test_slow.py": SLOW_API_TEST,
        }
    )
    marker = tmp_path / "marker"
    reports = tmp_path / "reports"
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "test", "--api", "--reports-dir", str(reports)],
        cwd=root,
        env={**cli_env(), "MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the api tier never started"
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGINT)  # the whole group, as a terminal's Ctrl+C
        time.sleep(1.5)  # pytest has stopped; the app ignores TERM and is inside its grace period
        os.killpg(process.pid, signal.SIGINT)
        out = process.communicate(timeout=60)[0]
        assert process.returncode == 130, out
        assert not port_open(port), f"the second Ctrl+C left the app running:\n{out}"
        record = json.loads((reports / "latest" / "summary.json").read_text())
        assert (record["verdict"], record["exit_code"]) == ("interrupted", 130)
    finally:
        run_cli("deploy", "test", "down", cwd=root)
