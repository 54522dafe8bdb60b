"""Measure the swarm backend on examples/shop: `up` to converged, and a release and a rollback under load.

A copy of the shop (its own git repo, stack name, image name and free ports, a
``[stages.swarm]`` stage on docker-compose.swarm.yml: PostgreSQL, the app with 2
replicas, the edge publishing the port users reach) is brought up; printed:

* ``up --build`` wall time until every service converged (image built first), and
  ``up`` again after ``down`` with the image present (deploy to converged only);
* ``release --version v2`` (v2 adds a column: the migration gate runs the v1 image as
  stack ``<stack>-gate`` against the rehearsed schema, then the guarded migrate and
  the engine's rolling update) and ``rollback`` (by the proven down-migration), each
  while a client sends a bounded ~50 GET/s to the stack's port for the whole command:
  requests sent, failed requests (target 0), the longest gap between two successful
  answers, and each step's wall time from the release history.

    .venv/bin/python bench/bench_swarm.py

Needs the base images (scripts/test-machine.sh or `stagewise images build`). When the
engine is not a swarm yet, the bench makes it a one-node swarm and leaves it again at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"
RATE = 50  # requests per second
MAX_SECONDS = 900
ENV: dict[str, str] = {}
MIGRATION = '''"""The bench's v2: a nullable column (the gate lints, rehearses and proves its downgrade)."""

import sqlalchemy as sa
from alembic import op

revision = "0099"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("gift_note", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "gift_note")
'''


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stagewise", "deploy", "swarm", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=MAX_SECONDS * 2,
        env={**os.environ, **ENV},
    )


class Client(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.sent, self.failed = url, 0, 0
        self.successes: list[float] = []
        self.halt = threading.Event()

    def run(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(RATE * MAX_SECONDS):
            if self.halt.is_set():
                return
            self.sent += 1
            try:
                with opener.open(self.url, timeout=10) as answer:
                    answer.read()
                self.successes.append(time.monotonic())
            except (OSError, http.client.HTTPException):  # a reset mid-answer is HTTPException
                self.failed += 1
            time.sleep(1 / RATE)

    def gap(self) -> float:
        pairs = zip(self.successes, self.successes[1:], strict=False)
        return max((b - a for a, b in pairs), default=float("nan"))


def timed(root: Path, *args: str) -> float:
    started = time.monotonic()
    done = cli(root, *args)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall


def measured(root: Path, port: int, *args: str) -> None:
    client = Client(f"http://127.0.0.1:{port}/health")
    client.start()
    started = time.monotonic()
    done = cli(root, *args)
    wall = time.monotonic() - started
    time.sleep(0.5)
    client.halt.set()
    client.join(15)
    if done.returncode != 0 or client.failed:
        print(done.stdout[-3000:], done.stderr[-2000:])
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode})")
    record = json.loads(cli(root, "releases", "--json").stdout)["releases"][-1]
    steps = ", ".join(f"{s['step']} {s['seconds']:.2f}s" for s in record["steps"])
    schema = f"{record['revision_before'] or '-'} -> {record['revision_after'] or '-'}"
    steps += f"\n    schema {schema}, downgrade proven {record['downgrade_proven']}, image {record['image']}"
    print(
        f"{' '.join(args):<22} wall {wall:6.2f}s  requests {client.sent:5d}  failed {client.failed:3d}  "
        f"longest gap {client.gap() * 1000:7.1f} ms\n    steps: {steps}",
        flush=True,
    )


def swarm_state() -> str:
    done = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def stage(root: Path, prefix: str) -> int:
    """The swarm stage on the shop copy; returns the port users reach (the edge's)."""
    port, db_port, spare = free_port(), free_port(), free_port()
    ENV.update(
        SHOP_SWARM_PORT=str(port),
        SHOP_SWARM_DB_PORT=str(db_port),
        SHOP_API_TOKEN=f"tok-{uuid.uuid4().hex}",
        STAGEWISE_SWARM_TIMEOUT="600",
    )
    toml = root / "stagewise.toml"
    text = toml.read_text().replace("[compose]\n", f'[compose]\nproject_prefix = "{prefix}"\n')
    text = text.replace("[data.containers]\n", '[data.containers]\nswarm = "db"\n')
    text = text.replace(
        "[data.urls]\n",
        '[data.urls]\nswarm = "postgresql://shop:shop-swarm-db@127.0.0.1:${SHOP_SWARM_DB_PORT}/shop"\n',
    )
    text += (
        f'\n[stages.swarm]\ntiers = ["api"]\nbase_url = "http://127.0.0.1:{port}"\n'
        'backend = "swarm"\ncompose_file = "docker-compose.swarm.yml"\n'
        f'\n[release.swarm]\nport = {port}\nspare_port = {spare}\nverify = ["api"]\nhealth_timeout = "300s"\n'
    )
    toml.write_text(text)
    compose = root / "docker-compose.swarm.yml"
    compose.write_text(compose.read_text().replace("image: shop-app:swarm", f"image: {prefix}-app:swarm"))
    return port


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=b@example.invalid", "-c", "user.name=b", "commit", "-qm", message)


def migrating_v2(root: Path) -> None:
    """v2 adds a column; the stage stops migrating at start-up (the release migrates it, guarded)."""
    compose = root / "docker-compose.swarm.yml"
    compose.write_text(compose.read_text().replace('SHOP_AUTO_MIGRATE: "1"', 'SHOP_AUTO_MIGRATE: "0"'))
    (root / "shop" / "migrations" / "versions" / "0099_gift_note.py").write_text(MIGRATION)
    init = root / "shop" / "__init__.py"
    init.write_text(init.read_text() + "\n# v2: a new build of the package (and so of the image)\n")


def remove_images(repo: str) -> None:
    listed = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if listed:
        subprocess.run(["docker", "rmi", "-f", *listed], capture_output=True, check=False)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    made_swarm = False
    if swarm_state() != "active":
        done = subprocess.run(
            ["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"docker swarm init failed: {done.stderr.strip()}")
        made_swarm = True
    work = Path(tempfile.mkdtemp(prefix="bench-swarm-"))
    root = work / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".stagewise", "backups", "reports", ".wheels"))
    prefix = f"bsw{uuid.uuid4().hex[:8]}"
    port = stage(root, prefix)
    (root / ".gitignore").write_text(".stagewise/\nbackups/\n.wheels/\nreports/\n")
    _git(root, "init", "-q")
    _commit(root, "v1")
    print(
        f"examples/shop on a one-node swarm: stack {prefix}-swarm, app x2 behind the edge on 127.0.0.1:{port}"
    )
    try:
        print(f"up --build (image built, then deployed) to converged: {timed(root, 'up', '--build'):6.2f}s")
        timed(root, "down", "--volumes")
        print(f"up (image present) to converged:                    {timed(root, 'up'):6.2f}s", flush=True)
        # From v1 on the release migrates (guarded), not the app at start-up: the gate checks
        # the serving spec on the new schema, and a v1 that upgrades "to head" fails there.
        compose = root / "docker-compose.swarm.yml"
        compose.write_text(compose.read_text().replace('SHOP_AUTO_MIGRATE: "1"', 'SHOP_AUTO_MIGRATE: "0"'))
        _commit(root, "v1: the release migrates")
        timed(root, "release", "--version", "v1")
        migrating_v2(root)
        _commit(root, "v2")
        measured(root, port, "release", "--version", "v2")
        measured(root, port, "rollback")
    finally:
        cli(root, "down", "--volumes")
        remove_images(f"{prefix}-app")
        shutil.rmtree(work, ignore_errors=True)
        if made_swarm:
            subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True, check=False)


if __name__ == "__main__":
    main()
