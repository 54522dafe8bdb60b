"""Time from ``stagewise deploy ENV up -d`` to all-healthy, on each backend.

``up -d`` returns only once every service passed its health check, so the
command's wall time is the figure. examples/shop is copied to a temporary
directory with free ports; local = dev (the app on SQLite as a process),
compose = staging (the app image and PostgreSQL; images built beforehand and
not timed, volumes removed between rounds so each start initialises a fresh
database).

Usage: ``python bench/bench_deploy.py [--rounds N] [--skip-compose]``;
writes ``bench/results/deploy.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def deploy(root: Path, env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "stagewise", "deploy", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"deploy {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-compose", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stagewise-bench-deploy-"))
    root = work / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".stagewise", "reports", "__pycache__", "*.db"))
    dev, staging = free_port(), free_port()
    toml = (root / "stagewise.toml").read_text()
    toml = toml.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{dev}")
    toml = toml.replace("port = { dev = 8000,", f"port = {{ dev = {dev},")
    toml = toml.replace("http://127.0.0.1:8001", f"http://127.0.0.1:{staging}")
    toml = toml.replace("[compose]\n", '[compose]\nproject_prefix = "swbench"\n')
    (root / "stagewise.toml").write_text(toml)
    env = dict(os.environ, SHOP_STAGING_PORT=str(staging))
    env["SHOP_API_TOKEN"] = os.urandom(8).hex()
    results: dict[str, object] = {"rounds": args.rounds}
    local = []
    for _ in range(args.rounds):
        local.append(deploy(root, env, "dev", "up", "-d"))
        deploy(root, env, "dev", "down", "--volumes")
    results["local_up_to_healthy_s"] = {"median": statistics.median(local), "all": local}
    print(f"local   (dev: app process, SQLite)       median {statistics.median(local):.2f} s  {local}")
    if not args.skip_compose:
        deploy(root, env, "staging", "build")
        compose = []
        for _ in range(args.rounds):
            compose.append(deploy(root, env, "staging", "up", "-d"))
            deploy(root, env, "staging", "down", "--volumes")
        results["compose_up_to_healthy_s"] = {"median": statistics.median(compose), "all": compose}
        print(
            f"compose (staging: app + PostgreSQL)      median {statistics.median(compose):.2f} s  {compose}"
        )
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "deploy.json").write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
