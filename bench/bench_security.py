"""Wall time of each security check on examples/shop.

Starts the shop (uvicorn, fresh SQLite database, a known write token) on a
free port on 127.0.0.1, runs ``stagewise test --security`` against it the way
a user would (the real CLI, in a child process), and prints the seconds each
check took as the tier measured them (``findings.json``), plus the tier's and
the whole command's wall time. Each figure is the median of ``--runs`` runs.

Usage: ``python bench/bench_security.py [--runs 3]``; prints a table and
writes ``bench/results/security.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
RESULTS = REPO / "bench" / "results"
TOKEN = "bench-security-token"  # noqa: S105 - a throwaway token for a throwaway server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(url: str, seconds: float = 30) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with opener.open(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the shop did not answer at {url}")


def _one_run(url: str, reports: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGEWISE_")}
    env.update({"SHOP_API_TOKEN": TOKEN, "NO_COLOR": "1"})
    command = [sys.executable, "-m", "stagewise", "test", "--security", "--target", url]
    command += ["--reports-dir", str(reports), "--no-progress"]
    started = time.monotonic()
    done = subprocess.run(command, cwd=SHOP, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"stagewise exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    document = json.loads((reports / "latest" / "security" / "findings.json").read_text(encoding="utf-8"))
    summary = json.loads((reports / "latest" / "summary.json").read_text(encoding="utf-8"))
    figures = {f"{c['name']} ({c['status']})": float(c["duration_s"]) for c in document["checks"]}
    figures["security tier"] = float(summary["tiers"][0]["duration_s"])
    figures["stagewise test --security (wall)"] = wall
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-security-") as temporary:
        state = Path(temporary)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{state}/shop.db", "SHOP_API_TOKEN": TOKEN}
        subprocess.run(
            [sys.executable, "-m", "shop.migrate"], cwd=SHOP, env=env, check=True, capture_output=True
        )
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shop",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=SHOP,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(f"{url}/health")
            runs = [_one_run(url, state / f"reports-{i}") for i in range(args.runs)]
        finally:
            server.terminate()
            server.wait(10)
    medians = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    print(f"security checks on examples/shop, median of {args.runs} run(s):")
    for name, seconds in medians.items():
        print(f"  {name:<40} {seconds:8.2f} s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "security.json").write_text(
        json.dumps({"runs": runs, "median_s": medians}, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
