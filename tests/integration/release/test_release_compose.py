"""``deploy ENV release | rollback | releases`` on the compose backend: real images, containers, HAProxy.

The project is a tiny image FROM the base image every run builds once
(``stagewise/base:bookworm``): an HTTP service whose files decide its version
and behaviour, and a second compose service (``kv``) its health check must
reach by name — so the new version, started in the release's second compose
project, proves it joined the stage's network. A client polls the front door
while each command runs; every failure must leave the old version answering,
no container of the new one, and the history saying so.
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

from stagewise.tiers.resilience.haproxy import haproxy_binary
from tests.conftest import requires
from tests.helpers import cli_env, free_port, run_cli
from tests.integration.release.test_release_local import SMOKE, Client

pytestmark = [
    pytest.mark.slow,
    pytest.mark.docker,
    pytest.mark.xdist_group("compose"),
    requires(haproxy_binary() is not None, "needs HAProxy (apt-get install haproxy)"),
    requires(shutil.which("docker") is not None, "needs the Docker engine"),
]

APP = """
import http.server, os, sys, threading, urllib.request
HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = open(os.path.join(HERE, "VERSION")).read().strip()
MODE = open(os.path.join(HERE, "MODE")).read().strip()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            if MODE == "nohealth":
                self.send_response(500); self.end_headers(); return
            urllib.request.urlopen(os.environ["KV_URL"], timeout=2).read()  # the stage's network
        body = VERSION.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""

HEALTH = """
import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:8000/health", timeout=2)
except Exception as exc:
    sys.exit(f"unhealthy: {exc}")
"""

DOCKERFILE = """FROM stagewise/base:bookworm
COPY app.py health.py VERSION MODE /app/
CMD ["python3", "/app/app.py"]
"""

COMPOSE = """services:
  kv:
    image: stagewise/base:bookworm
    command: ["python3", "-m", "http.server", "9000", "--bind", "0.0.0.0", "--directory", "/etc"]
    stop_grace_period: 1s  # python as pid 1 ignores SIGTERM: no need to wait 10 s for it
  app:
    build: .
    image: {image}:dev
    environment:
      KV_URL: http://kv:9000/hostname
    ports:
      - "127.0.0.1:{port}:8000"
    depends_on: [kv]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "python3", "/app/health.py"]
      interval: 1s
      timeout: 3s
      retries: 3
"""


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _docker(*args: str) -> list[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=120)
    return done.stdout.split()


def _containers(project: str) -> list[str]:
    return _docker("ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, int, str]]:
    root = tmp_path / "tiny"
    (root / "tests" / "api").mkdir(parents=True)
    (root / "app.py").write_text(APP)
    (root / "health.py").write_text(HEALTH)
    (root / "VERSION").write_text("v1\n")
    (root / "MODE").write_text("good\n")
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "tests" / "api" / "test_smoke.py").write_text(SMOKE)
    (root / "tests" / "api" / "conftest.py").write_text(
        "def pytest_configure(config):\n    config.addinivalue_line('markers', 'smoke: read-only')\n"
    )
    prefix = f"rel{uuid.uuid4().hex[:8]}"
    door, port, spare = free_port(), free_port(), free_port()
    (root / "docker-compose.yml").write_text(COMPOSE.format(image=prefix, port=port))
    (root / "stagewise.toml").write_text(
        f"""[project]
name = "tiny"
health_path = "/health"
[tiers.api]
paths = ["tests/api"]
[stages.dev]
tiers = ["api"]
backend = "compose"
compose_file = "docker-compose.yml"
[compose]
project_prefix = "{prefix}"
[release.dev]
port = {door}
spare_port = {spare}
verify = ["api"]
drain = "2s"
health_timeout = "30s"
"""
    )
    (root / ".gitignore").write_text(".stagewise/\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "v1")
    up = run_cli("deploy", "dev", "up", "-d", "--build", cwd=root, timeout=600)
    try:
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr
        yield root, door, f"{prefix}-dev"
    finally:
        run_cli("deploy", "dev", "down", "--volumes", cwd=root)
        for leftover in (f"{prefix}-dev", f"{prefix}-dev-b", f"{prefix}-dev-gate"):
            if ids := _containers(leftover):
                _docker("rm", "-f", *ids)
        if images := _docker("images", "-q", prefix):
            _docker("rmi", "-f", *set(images))


def _history(root: Path) -> list[dict[str, object]]:
    done = run_cli("deploy", "dev", "releases", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    releases: list[dict[str, object]] = json.loads(done.stdout)["releases"]
    return releases


def _door(port: int) -> str:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        return str(answer.read().decode())


def _running(project: str) -> list[str]:
    return _docker("ps", "-q", "--filter", f"label=com.docker.compose.project={project}")


def test_release_then_rollback_on_containers_keeps_answering(project: tuple[Path, int, str]) -> None:
    root, door, compose_project = project
    done = run_cli("deploy", "dev", "release", "--version", "v1", cwd=root)  # v1 behind the door, slot b
    assert done.returncode == 0, done.stdout + done.stderr
    assert _door(door) == "v1"
    assert len(_running(f"{compose_project}-b")) == 1  # the spare project's one container
    assert len(_running(compose_project)) == 1  # kv only: slot a's container was drained and removed
    (root / "VERSION").write_text("v2\n")
    with Client(door) as client:
        done = run_cli("deploy", "dev", "release", "--version", "v2", cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
        time.sleep(0.5)
    assert client.failures == 0
    assert "v1" in client.answers
    assert client.answers[-1] == "v2"
    assert not _running(f"{compose_project}-b")  # v2 came up in slot a, v1's slot b is gone
    status = run_cli("deploy", "dev", "status", cwd=root).stdout
    assert "front door" in status
    assert "(v2)" in status
    with Client(door) as client:
        done = run_cli("deploy", "dev", "rollback", cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
        time.sleep(0.5)
    assert client.failures == 0
    assert client.answers[-1] == "v1"
    assert _door(door) == "v1"
    history = _history(root)
    assert [r["outcome"] for r in history] == ["released", "released", "released"]
    assert [r["kind"] for r in history] == ["release", "release", "rollback"]
    image = compose_project.removesuffix("-dev")  # the compose file's image repo is the prefix
    assert [r["image"] for r in history] == [f"{image}:dev-v1", f"{image}:dev-v2", f"{image}:dev-v1"]
    digests = [str(r["image_digest"]) for r in history]
    assert all(d.startswith("sha256:") for d in digests)
    assert digests[0] != digests[1]
    assert digests[2] == digests[0]
    steps = [s["step"] for s in history[1]["steps"]]  # type: ignore[union-attr]
    assert steps == ["build", "migrate", "start", "switch", "verify", "drain"]
    # `down` takes the spare project's container and the front door with the stage.
    done = run_cli("deploy", "dev", "down", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "front door" in done.stdout
    assert not _running(f"{compose_project}-b")
    assert not _running(compose_project)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", door)) != 0


@pytest.mark.parametrize(
    ("mode", "smoke_fails", "failed_at"), [("nohealth", False, "start"), ("good", True, "verify")]
)
def test_a_failing_release_on_containers_leaves_the_old_version_serving(
    project: tuple[Path, int, str], mode: str, smoke_fails: bool, failed_at: str
) -> None:
    root, door, compose_project = project
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
    assert client.failures == 0
    assert client.answers[-1] == "v1"
    if failed_at == "start":  # never switched to: no user saw it
        assert set(client.answers) == {"v1"}
    assert _door(door) == "v1"
    last = _history(root)[-1]
    assert last["outcome"] == "failed"
    assert str(last["detail"]).startswith(failed_at)
    image = compose_project.removesuffix("-dev")
    assert last["image"] == f"{image}:dev-v2"
    # Nothing of v2 runs: slot a (the main project's app container) is gone, kv and slot b (v1) stay.
    app = _docker(
        "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={compose_project}",
        "--filter", "label=com.docker.compose.service=app",
    )  # fmt: skip
    assert app == []
    assert len(_running(f"{compose_project}-b")) == 1
    # The compose file's image name is back on the serving release's image.
    names = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", f"{image}:dev"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert names == _history(root)[0]["image_digest"]


def test_ctrl_c_during_a_compose_release_switches_back_and_removes_the_new_container(
    project: tuple[Path, int, str],
) -> None:
    root, door, compose_project = project
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
    deadline = time.monotonic() + 180
    while _door(door) != "v2" and time.monotonic() < deadline:  # switched: now verifying
        time.sleep(0.2)
    time.sleep(1)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert _door(door) == "v1"
    assert _history(root)[-1]["outcome"] == "interrupted"
    app = _docker(
        "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={compose_project}",
        "--filter", "label=com.docker.compose.service=app",
    )  # fmt: skip
    assert app == []  # the new version's container (slot a) is gone
    assert len(_running(f"{compose_project}-b")) == 1  # v1 still serves from slot b
