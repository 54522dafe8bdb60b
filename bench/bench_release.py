"""Measure `deploy ENV release` and `deploy ENV rollback` on examples/shop behind the HAProxy door.

A copy of the shop (its own git repo, free ports, a `[release.ENV]` table verifying with the
api tier's smoke tests) is brought up, released once to put it behind the front door, then
released again (a new version) and rolled back while a client sends a bounded ~50 GET/s to
the front door. Printed per command: requests sent, failed requests (target 0), the longest
gap between two successful answers, and each step's wall time from the release history.

    .venv/bin/python bench/bench_release.py                    # local backend: dev (SQLite)
    .venv/bin/python bench/bench_release.py --backend compose  # compose: staging (app + PostgreSQL)

On compose the stage is the shop's staging (docker-compose.stag.yml), its app image renamed
to one of this run's own (removed at the end with the release tags), so nothing another run
or test built under ``shop-app:staging`` is touched. Needs the base images
(scripts/test-machine.sh or `stagewise images build`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import socket
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
MAX_SECONDS = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


RUN = {"stage": "dev"}  # staging on compose
ENV: dict[str, str] = {}


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "stagewise", "deploy", RUN["stage"], *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=MAX_SECONDS * 3,
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
                with opener.open(self.url, timeout=5) as answer:
                    answer.read()
                self.successes.append(time.monotonic())
            except (OSError, http.client.HTTPException):  # a reset mid-answer is HTTPException
                self.failed += 1
            time.sleep(1 / RATE)

    def gap(self) -> float:
        pairs = zip(self.successes, self.successes[1:], strict=False)
        return max((b - a for a, b in pairs), default=float("nan"))


def measured(root: Path, door: int, *args: str) -> None:
    client = Client(f"http://127.0.0.1:{door}/health")
    client.start()
    started = time.monotonic()
    done = cli(root, *args)
    wall = time.monotonic() - started
    time.sleep(0.5)
    client.halt.set()
    client.join(10)
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
        f"longest gap {client.gap() * 1000:7.1f} ms\n    steps: {steps}"
    )


def stop_journalled(state_dir: Path) -> None:
    """Stop what the journals name, only while pid and kernel start time still match (never a shell kill)."""
    from stagewise.processes import ProcessRef, stop_group

    for journal in state_dir.glob("*.json"):
        try:
            data = json.loads(journal.read_text() or "{}")
            ref = ProcessRef(int(data["pid"]), int(data["start_ticks"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if ref.pid > 1 and ref.alive():
            stop_group(ref, grace=5.0)


def _git_init(root: Path) -> None:
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.email=b@example.invalid", "-c", "user.name=b", "commit", "-qm", "v1"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def local_stage(root: Path) -> int:
    """dev on the local backend; returns the front door's port."""
    door, port, spare = free_port(), free_port(), free_port()
    toml = root / "stagewise.toml"
    text = toml.read_text().replace(
        "port = { dev = 8000, test = 8010 }", f"port = {{ dev = {port}, test = 8010 }}"
    )
    text = text.replace('base_url = "http://127.0.0.1:8000"', f'base_url = "http://127.0.0.1:{port}"')
    toml.write_text(
        text + f'\n[release.dev]\nport = {door}\nspare_port = {spare}\nverify = ["api"]\ndrain = "5s"\n'
    )
    return door


def compose_stage(root: Path, image: str) -> int:
    """staging on the compose backend (app + PostgreSQL), its own image name and ports; the door's port."""
    RUN["stage"] = "staging"
    door, port, spare, db_port = free_port(), free_port(), free_port(), free_port()
    ENV.update(
        SHOP_API_TOKEN=f"tok-{uuid.uuid4().hex}",
        SHOP_STAGING_PORT=str(port),
        SHOP_STAGING_DB_PORT=str(db_port),
    )
    compose = root / "docker-compose.stag.yml"
    compose.write_text(compose.read_text().replace("image: shop-app:staging", f"image: {image}:staging"))
    toml = root / "stagewise.toml"
    text = toml.read_text().replace("http://127.0.0.1:8001", f"http://127.0.0.1:{port}")
    text = text.replace("[compose]\n", f'[compose]\nproject_prefix = "{image}"\n')
    toml.write_text(
        text + f'\n[release.staging]\nport = {door}\nspare_port = {spare}\nverify = ["api"]\ndrain = "5s"\n'
    )
    return door


MIGRATION = """\"\"\"The bench's v2: a nullable column (the gate lints, rehearses and proves its downgrade).\"\"\"

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
"""


def migrating_v2(root: Path) -> None:
    """v2 migrates: the stage stops migrating at start-up (the release does it, guarded) and a revision is added.

    With ``SHOP_AUTO_MIGRATE=1`` the v1 image would try to upgrade a schema newer than it
    knows when the gate runs it against the rehearsed copy, and the gate would (rightly) refuse.
    """
    compose = root / "docker-compose.stag.yml"
    compose.write_text(compose.read_text().replace('SHOP_AUTO_MIGRATE: "1"', 'SHOP_AUTO_MIGRATE: "0"'))
    (root / "shop" / "migrations" / "versions" / "0099_gift_note.py").write_text(MIGRATION)


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("local", "compose"), default="local")
    backend = parser.parse_args().backend
    work = Path(tempfile.mkdtemp(prefix="bench-release-"))
    root = work / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".stagewise", "backups", "reports", ".wheels"))
    image = f"bench{uuid.uuid4().hex[:8]}"
    door = compose_stage(root, image) if backend == "compose" else local_stage(root)
    (root / ".gitignore").write_text(".stagewise/\nbackups/\n.wheels/\n")
    _git_init(root)
    print(f"backend {backend}, stage {RUN['stage']}, front door 127.0.0.1:{door}")
    try:
        up = cli(root, "up", "-d", *(["--build"] if backend == "compose" else []))
        if up.returncode != 0:
            raise SystemExit(f"deploy {RUN['stage']} up failed: {up.stderr[-1500:]}")
        if (first := cli(root, "release", "--version", "v1")).returncode != 0:
            raise SystemExit(f"first release failed: {first.stdout[-1500:]} {first.stderr[-1500:]}")
        init = root / "shop" / "__init__.py"
        init.write_text(init.read_text() + "\n# v2: a new build of the package (and so of the image)\n")
        if backend == "compose":
            migrating_v2(root)
        measured(root, door, "release", "--version", "v2")
        measured(root, door, "rollback")
    finally:
        cli(root, "down", "--volumes")
        stop_journalled(root / ".stagewise" / RUN["stage"])
        if backend == "compose":
            remove_images(image)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
