"""``deploy ENV release | rollback | releases`` on the local backend, on real processes and HAProxy.

The project is a tiny real HTTP service whose behaviour a file decides (so
one tree can be released as a good version, one that never gets healthy,
one that crashes after the switch, one whose smoke test fails); a client
polls the front door while each command runs, and every failure mode must
leave the old version answering, nothing of the new one running, and the
history saying so.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagewise.processes import ProcessRef, stop_group
from stagewise.tiers.resilience.haproxy import haproxy_binary
from tests.conftest import requires
from tests.helpers import cli_env, free_port, run_cli

pytestmark = [
    pytest.mark.slow,
    requires(haproxy_binary() is not None, "needs HAProxy (apt-get install haproxy)"),
]

APP = """
import http.server, os, sys, threading, time
HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = open(os.path.join(HERE, "VERSION")).read().strip()
MODE = open(os.path.join(HERE, "MODE")).read().strip()
SERVED = []
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if MODE == "nohealth" and self.path == "/health":
            self.send_response(500); self.end_headers(); return
        if MODE == "crash" and self.path != "/health":
            SERVED.append(self.path)
            if len(SERVED) >= 3:  # dies while serving users, a request in flight
                os._exit(3)
        body = VERSION.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

SMOKE = """
import os, urllib.request
import pytest

@pytest.mark.smoke
def test_answers_with_a_version():
    with urllib.request.urlopen(os.environ["TARGET_HOST"] + "/", timeout=5) as answer:
        body = answer.read().decode()
    assert body.startswith("v"), body
    assert not os.path.exists(os.path.join(os.path.dirname(__file__), "..", "..", "SMOKE_FAILS"))
"""


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    root = tmp_path / "tiny"
    (root / "tests" / "api").mkdir(parents=True)
    (root / "app.py").write_text(APP)
    (root / "VERSION").write_text("v1\n")
    (root / "MODE").write_text("good\n")
    (root / "tests" / "api" / "test_smoke.py").write_text(SMOKE)
    (root / "tests" / "api" / "conftest.py").write_text(
        "def pytest_configure(config):\n    config.addinivalue_line('markers', 'smoke: read-only')\n"
    )
    door, port, spare = free_port(), free_port(), free_port()
    (root / "stagewise.toml").write_text(
        f"""[project]
name = "tiny"
[tiers.api]
paths = ["tests/api"]
[stages.dev]
tiers = ["api"]
[services.app]
command = ["{sys.executable}", "app.py", "{{port}}"]
port = {port}
health = {{ http = "http://127.0.0.1:{{port}}/health", timeout = 3 }}
[release.dev]
port = {door}
spare_port = {spare}
verify = ["api"]
drain = "2s"
"""
    )
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "v1")
    assert run_cli("deploy", "dev", "up", "-d", cwd=root).returncode == 0
    try:
        yield root, door
    finally:
        run_cli("deploy", "dev", "down", cwd=root)
        for journal in (root / ".stagewise" / "dev").glob("*.json"):
            data = json.loads(journal.read_text() or "{}")
            if "pid" in data and "start_ticks" in data:
                ref = ProcessRef(int(data["pid"]), int(data["start_ticks"]))
                if ref.pid > 1 and ref.alive():  # still the process the journal names
                    stop_group(ref, grace=2.0)


class Client:
    """A bounded loop of GETs to the front door (about 50 per second) counting failures."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        self.answers: list[str] = []
        self.failures = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(50 * 120):  # at most two minutes
            if self.stop.is_set():
                return
            try:
                with opener.open(self.url, timeout=5) as answer:
                    self.answers.append(answer.read().decode())
            except (OSError, http.client.HTTPException):  # a reset mid-answer is HTTPException
                self.failures += 1
            time.sleep(0.02)

    def __enter__(self) -> Client:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def _history(root: Path) -> list[dict[str, object]]:
    done = run_cli("deploy", "dev", "releases", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    releases: list[dict[str, object]] = json.loads(done.stdout)["releases"]
    return releases


def _door(port: int) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        return str(answer.read().decode())


def test_release_then_rollback_keeps_answering_and_records_each_step(project: tuple[Path, int]) -> None:
    root, door = project
    done = run_cli("deploy", "dev", "release", cwd=root)  # v1 behind the door, slot b
    assert done.returncode == 0, done.stdout + done.stderr
    (root / "VERSION").write_text("v2\n")
    with Client(door) as client:
        done = run_cli("deploy", "dev", "release", "--version", "v2", cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
        time.sleep(0.5)
    assert client.failures == 0
    assert client.answers[-1] == "v2"
    assert "v1" in client.answers
    assert _door(door) == "v2"
    status = run_cli("deploy", "dev", "status", cwd=root).stdout
    assert "front door" in status
    assert "(v2)" in status
    with Client(door) as client:
        done = run_cli("deploy", "dev", "rollback", cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
    assert client.failures == 0
    assert _door(door) == "v1"
    history = _history(root)
    assert [r["outcome"] for r in history] == ["released", "released", "released"]
    assert [r["kind"] for r in history] == ["release", "release", "rollback"]
    steps = [s["step"] for s in history[1]["steps"]]  # type: ignore[union-attr]
    assert steps == ["build", "migrate", "start", "switch", "verify", "drain"]


@pytest.mark.parametrize(
    ("mode", "smoke_fails", "failed_at"),
    [("nohealth", False, "start"), ("crash", False, "verify"), ("good", True, "verify")],
)
def test_a_failing_release_leaves_the_old_version_serving(
    project: tuple[Path, int], mode: str, smoke_fails: bool, failed_at: str
) -> None:
    root, door = project
    assert run_cli("deploy", "dev", "release", "--version", "v1", cwd=root).returncode == 0
    (root / "VERSION").write_text("v2\n")
    (root / "MODE").write_text(mode + "\n")
    if smoke_fails:
        (root / "SMOKE_FAILS").write_text("")
    with Client(door) as client:
        done = run_cli("deploy", "dev", "release", "--version", "v2", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"rolled back at {failed_at}" in done.stderr
    assert "Traceback" not in done.stderr
    # HAProxy's own checks take a dying version out within one check and send the requests (and
    # retries) to the old version's backup twin until stagewise switches back: none is lost.
    assert client.failures == 0
    assert client.answers[-1] == "v1"
    if failed_at == "start":  # never switched to: no user saw it
        assert set(client.answers) == {"v1"}
    assert _door(door) == "v1"
    last = _history(root)[-1]
    assert last["outcome"] == "failed"
    assert str(last["detail"]).startswith(failed_at)
    assert not (root / ".stagewise" / "dev" / "app.json").exists()  # slot a (the new one) is gone


def test_ctrl_c_during_release_switches_back(project: tuple[Path, int]) -> None:
    root, door = project
    assert run_cli("deploy", "dev", "release", "--version", "v1", cwd=root).returncode == 0
    (root / "VERSION").write_text("v2\n")
    (root / "tests" / "api" / "test_slow.py").write_text(
        "import time, pytest\n@pytest.mark.smoke\ndef test_slow():\n    time.sleep(30)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "dev", "release", "--version", "v2"],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while _door(door) != "v2" and time.monotonic() < deadline:  # switched: now verifying
        time.sleep(0.1)
    time.sleep(1)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert _door(door) == "v1"
    assert _history(root)[-1]["outcome"] == "interrupted"


def test_a_stage_without_verification_fails_closed(project: tuple[Path, int]) -> None:
    root, _door_port = project
    toml = root / "stagewise.toml"
    toml.write_text(toml.read_text().replace('verify = ["api"]\n', ""))
    done = run_cli("deploy", "dev", "release", cwd=root)
    assert done.returncode == 1
    assert "no verification configured" in done.stderr
    assert _history(root) == []


def test_down_stops_the_spare_slot_and_the_front_door(project: tuple[Path, int]) -> None:
    root, door = project
    done = run_cli("deploy", "dev", "release", cwd=root)  # serves from slot b now
    assert done.returncode == 0, done.stdout + done.stderr
    assert _door(door) == "v1"
    journals = {p.name: json.loads(p.read_text()) for p in (root / ".stagewise" / "dev").glob("*.json")}
    refs = [
        ProcessRef(int(data["pid"]), int(data["start_ticks"]))
        for data in journals.values()
        if isinstance(data, dict) and "pid" in data and "start_ticks" in data
    ]
    assert len(refs) >= 2, journals  # the slot's instance and HAProxy
    done = run_cli("deploy", "dev", "down", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "front door" in done.stdout
    deadline = time.monotonic() + 10
    while any(ref.alive() for ref in refs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(ref.alive() for ref in refs)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", door)) != 0  # nothing listens at the door
