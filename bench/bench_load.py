"""Load-generator throughput: stagewise + Locust on one core next to wrk, same trivial endpoint.

Measured in one run on this machine:

- a trivial HTTP endpoint (a raw asyncio server answering ``200 ok`` with
  keep-alive) pinned to its own core, so the server is not what is measured;
- ``stagewise test --performance`` (Locust, ``HttpUser`` and ``FastHttpUser``,
  one Locust process) pinned to one other core;
- ``wrk -t1`` pinned to that same core, same connection count, same duration.

Each reports requests/s and p95 latency (Locust's from stagewise's
summary.json, wrk's from a Lua ``done`` hook, since ``wrk --latency`` prints no
p95). The figures say how much load one core of stagewise + Locust can offer,
and how far that is from a C load generator.

Usage: ``python bench/bench_load.py [--seconds 15] [--users 32]``; prints a
table and writes ``bench/results/load.json``. Needs ``wrk`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"

SERVER = textwrap.dedent(
    """
    import asyncio, sys

    RESPONSE = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nContent-Type: text/plain\\r\\n\\r\\nok"

    class Trivial(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.buffer = b""

        def data_received(self, data):
            self.buffer += data
            while b"\\r\\n\\r\\n" in self.buffer:
                _, self.buffer = self.buffer.split(b"\\r\\n\\r\\n", 1)
                self.transport.write(RESPONSE)

    async def main():
        server = await asyncio.get_running_loop().create_server(Trivial, "127.0.0.1", int(sys.argv[1]))
        async with server:
            await server.serve_forever()

    asyncio.run(main())
    """
)

LOCUSTFILE = textwrap.dedent(
    """
    from locust import {base}, task

    class Hammer({base}):
        @task
        def trivial(self):
            self.client.get("/")
    """
)

WRK_P95 = textwrap.dedent(
    """
    done = function(summary, latency, requests)
      local p95 = latency:percentile(95)
      io.write(string.format("STAGEWISE %d %d %d\\n", summary.requests, summary.duration, p95))
    end
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(core: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *command] if shutil.which("taskset") else command


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the trivial server never started")


def run_stagewise(
    work: Path, url: str, base: str, *, users: int, seconds: int, core: int
) -> dict[str, float]:
    project = work / base
    (project / "tests" / "performance").mkdir(parents=True)
    (project / "tests" / "performance" / "locustfile.py").write_text(LOCUSTFILE.format(base=base))
    # Spawn everyone in the first second, and no latency gate: this measures throughput, not the server.
    (project / "stagewise.toml").write_text(
        f"[performance.gates]\np95_ms = 100000\n\n[performance.scenarios.normal-load]\nspawn_rate = {users}\n"
    )
    reports = work / f"reports-{base}"
    command = [sys.executable, "-m", "stagewise", "test", "--performance", "--host", url]
    command += ["--users", str(users), "--duration", str(seconds), "--reports-dir", str(reports)]
    done = subprocess.run(pinned(core, command), cwd=project, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"stagewise exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    summary = json.loads((reports / "latest" / "performance" / "summary.json").read_text())
    total = summary["stats"]["total"]
    return {"rps": total["rps"], "p95_ms": total["p95_ms"], "requests": total["requests"]}


def run_wrk(work: Path, url: str, connections: int, seconds: int, core: int) -> dict[str, float]:
    script = work / "p95.lua"
    script.write_text(WRK_P95)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url + "/"]
    done = subprocess.run(pinned(core, command), capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("STAGEWISE "))
    requests, duration_us, p95_us = (int(v) for v in line.split()[1:])
    return {"rps": requests / (duration_us / 1e6), "p95_ms": p95_us / 1000, "requests": requests}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--users", type=int, default=32, help="Locust users = wrk connections")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    cores = sorted(os.sched_getaffinity(0))
    load_core, server_core = cores[0], cores[-1]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(pinned(server_core, [sys.executable, "-c", SERVER, str(port)]))
    results: dict[str, dict[str, float]] = {}
    try:
        wait_for(port)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            results["stagewise+locust HttpUser"] = run_stagewise(
                work, url, "HttpUser", users=args.users, seconds=args.seconds, core=load_core
            )
            results["stagewise+locust FastHttpUser"] = run_stagewise(
                work, url, "FastHttpUser", users=args.users, seconds=args.seconds, core=load_core
            )
            results["wrk -t1"] = run_wrk(work, url, args.users, args.seconds, load_core)
    finally:
        server.terminate()
        server.wait(10)
    print(f"trivial endpoint {url}/ · load on core {load_core}, server on core {server_core}")
    print(f"{args.users} users/connections · {args.seconds}s each · {os.cpu_count()} CPUs")
    print(f"{'generator':<32} {'req/s':>10} {'p95 ms':>8} {'requests':>10}")
    for name, figures in results.items():
        print(f"{name:<32} {figures['rps']:>10.0f} {figures['p95_ms']:>8.1f} {figures['requests']:>10.0f}")
    RESULTS.mkdir(exist_ok=True)
    record = {
        "seconds": args.seconds,
        "users": args.users,
        "cpus": os.cpu_count(),
        "load_core": load_core,
        "server_core": server_core,
        "results": results,
    }
    (RESULTS / "load.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
