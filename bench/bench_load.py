"""Load generation: stagewise's load tier next to wrk, on examples/shop and on a trivial endpoint.

The question a user needs answered: when ``stagewise test --performance``
reports a throughput, is that the target's limit or the load generator's?
So, in one run on this machine:

1. **examples/shop** started the way stagewise's local backend starts it (the
   ``[services.app]`` command of its stagewise.toml, its migration first, a
   fresh SQLite database, 20 products), pinned to one core.
2. Its **busiest read endpoint**, found by running the shop's own locustfile
   through ``stagewise test --performance`` for a few seconds and taking the
   ``GET`` endpoint Locust counted most requests on (server-sent events left out).
3. ``--rounds`` rounds, the order alternating each round, each ``--seconds``
   long with ``--users`` closed-loop users / connections, the load on the other
   core: ``wrk -t1``, then the real ``stagewise test --performance`` (real
   Locust) with a locustfile that requests that endpoint with no wait, as
   ``FastHttpUser`` and as ``HttpUser``. Each round prints req/s and p95 of
   each and the ratio to wrk; the summary is the median of the rounds.
4. The **trivial endpoint** (a raw asyncio server answering ``200 ok``) the
   same way, ``--trivial-rounds`` rounds: how much load one core of stagewise +
   Locust can offer at all, next to a C load generator.

The machine has 2 cores: the server and the generator share them (server on
one, generator on the other), for wrk exactly as for Locust. Locust's p95 is
from stagewise's summary.json (Locust's rounded histogram), wrk's from a Lua
``done`` hook (``wrk --latency`` prints no p95). The generator's own CPU
(stagewise's ``generator`` figures in summary.json) is printed beside each
Locust run. All traffic goes to 127.0.0.1, bounded by ``--seconds``.

Usage: ``python bench/bench_load.py [--seconds 10] [--users 32] [--rounds 5]
[--trivial-rounds 3]``; prints tables and writes ``bench/results/load.json``.
Needs ``wrk`` (``apt-get install -y wrk``) and ``taskset`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
RESULTS = REPO / "bench" / "results"
TOKEN = "bench-load-token"  # noqa: S105 - a throwaway token for a throwaway server

#: The URL behind each read endpoint of the shop's locustfile, as Locust names them.
SHOP_READS = {
    "GET /": "/",
    "GET /products": "/products?limit=20",
    "GET /products/{id}": "/products/1",
    "GET /health": "/health",
    "GET /orders/{id}": "/orders/1",
}

TRIVIAL_SERVER = textwrap.dedent(
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
        def endpoint(self):
            self.client.get({path!r}, name={name!r})
    """
)

WRK_P95 = textwrap.dedent(
    """
    done = function(summary, latency, requests)
      local p95 = latency:percentile(95)
      io.write(string.format("STAGEWISE %d %d %d %d\\n", summary.requests, summary.duration, p95,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
        + summary.errors.timeout))
    end
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cores: list[int] | None, command: list[str]) -> list[str]:
    if not cores or not shutil.which("taskset"):
        return command
    return ["taskset", "-c", ",".join(str(c) for c in cores), *command]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAGEWISE_", "PYTEST_"))}
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - 127.0.0.1 only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} never answered 200")


def start_shop(work: Path, cores: list[int] | None) -> tuple[subprocess.Popen[bytes], str]:
    """examples/shop as its ``[services.app]`` runs it: the migration, then the command, on a free port."""
    config = tomllib.loads((SHOP / "stagewise.toml").read_text())["services"]["app"]
    port = free_port()
    state = work / "shop-state"
    state.mkdir()

    def fill(text: str) -> str:
        return text.format(python=sys.executable, port=port, state_dir=state)

    env = clean_env({k: fill(v) for k, v in config.get("env", {}).items()})
    env["SHOP_API_TOKEN"] = TOKEN
    for step in config.get("prestart", []):
        command = step["command"] if isinstance(step, dict) else step
        subprocess.run([fill(a) for a in command], cwd=SHOP, env=env, check=True, capture_output=True)
    log = work / "shop.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            pinned(cores, [fill(a) for a in config["command"]]),
            cwd=SHOP,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url + "/health", server, log)
    for index in range(20):
        body = json.dumps({"name": f"bench product {index}", "price_cents": 100 + index, "stock": 1000})
        request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
            url + "/products",
            data=body.encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 201, response.status
    return server, url


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def stagewise_performance(
    project: Path,
    url: str,
    reports: Path,
    *,
    users: int,
    seconds: int,
    cores: list[int] | None,
    workers: int = 0,
    env: dict[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> dict[str, Any]:
    """Run the real ``stagewise test --performance`` and return its summary.json."""
    command = [sys.executable, "-m", "stagewise", "test", "--performance", "--host", url]
    command += ["--users", str(users), "--duration", str(seconds), "--reports-dir", str(reports)]
    if workers:
        command += ["--workers", str(workers)]
    done = subprocess.run(
        pinned(cores, command), cwd=project, env=clean_env(env), capture_output=True, text=True, check=False
    )
    # The pick run uses the shop's own gates; a gate the loaded machine misses is no reason to stop.
    if done.returncode not in ok_codes:
        raise SystemExit(f"stagewise exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads((reports / "latest" / "performance" / "summary.json").read_text())
    shutil.rmtree(reports)
    return summary


def busiest_read_endpoint(work: Path, url: str) -> tuple[str, str, dict[str, int]]:
    """The shop's own locustfile for 8 s: the GET endpoint with the most requests (streams left out)."""
    summary = stagewise_performance(
        SHOP,
        url,
        work / "reports-pick",
        users=10,
        seconds=8,
        cores=None,
        env={"SHOP_API_TOKEN": TOKEN},
        ok_codes=(0, 1),
    )
    reads = {
        e["name"]: int(e["requests"])
        for e in summary["stats"]["endpoints"]
        if e["name"].startswith("GET ") and not e["name"].startswith("GET /events")
    }
    if not reads:
        raise SystemExit("the shop's locustfile made no GET requests")
    name = max(reads, key=lambda n: reads[n])
    if name not in SHOP_READS:
        raise SystemExit(f"busiest read endpoint {name} has no URL in SHOP_READS; add it")
    return name, SHOP_READS[name], reads


def make_project(work: Path, base: str, path: str, name: str, users: int) -> Path:
    """A project whose locustfile requests one endpoint with no wait, every user spawned in the first second."""
    project = work / f"project-{base}-{abs(hash(path))}"
    if project.exists():
        return project
    (project / "tests" / "performance").mkdir(parents=True)
    locustfile = LOCUSTFILE.format(base=base, path=path, name=name)
    (project / "tests" / "performance" / "locustfile.py").write_text(locustfile)
    # No latency gate: this measures throughput, not whether the server is fast enough.
    (project / "stagewise.toml").write_text(
        f"[performance.gates]\np95_ms = 100000\n\n[performance.scenarios.normal-load]\nspawn_rate = {users}\n"
    )
    return project


def locust_round(
    work: Path,
    url: str,
    base: str,
    path: str,
    name: str,
    *,
    users: int,
    seconds: int,
    cores: list[int] | None,
    workers: int = 0,
) -> dict[str, Any]:
    project = make_project(work, base, path, name, users)
    summary = stagewise_performance(
        project, url, work / "reports", users=users, seconds=seconds, cores=cores, workers=workers
    )
    total = summary["stats"]["total"]
    generator = summary["stats"].get("generator") or {}
    return {
        "rps": float(total["rps"]),
        "p95_ms": float(total["p95_ms"]),
        "requests": int(total["requests"]),
        "failures": int(total["failures"]),
        "generator_cpu_percent": generator.get("busiest_cpu_percent"),
        "generator_busy_percent": generator.get("busiest_busy_percent"),
        "generator_saturated": generator.get("saturated"),
    }


def wrk_round(
    work: Path, url: str, *, connections: int, seconds: int, cores: list[int] | None
) -> dict[str, Any]:
    script = work / "p95.lua"
    script.write_text(WRK_P95)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]
    done = subprocess.run(pinned(cores, command), capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("STAGEWISE "))
    requests, duration_us, p95_us, errors = (int(v) for v in line.split()[1:])
    return {
        "rps": requests / (duration_us / 1e6),
        "p95_ms": p95_us / 1000,
        "requests": requests,
        "failures": errors,
    }


def rounds(
    work: Path,
    url: str,
    path: str,
    name: str,
    *,
    users: int,
    seconds: int,
    count: int,
    load_cores: list[int] | None,
    title: str,
    workers: int = 0,
) -> dict[str, Any]:
    """``count`` rounds of wrk, FastHttpUser and HttpUser, the order turned round each round."""
    runners = {
        "wrk -t1": lambda: wrk_round(work, url + path, connections=users, seconds=seconds, cores=load_cores),
        "stagewise FastHttpUser": lambda: locust_round(
            work, url, "FastHttpUser", path, name, users=users, seconds=seconds, cores=load_cores
        ),
        "stagewise HttpUser": lambda: locust_round(
            work, url, "HttpUser", path, name, users=users, seconds=seconds, cores=load_cores
        ),
    }
    if workers:
        runners[f"stagewise Fast --workers {workers}"] = lambda: locust_round(
            work,
            url,
            "FastHttpUser",
            path,
            name,
            users=users,
            seconds=seconds,
            cores=load_cores,
            workers=workers,
        )
    per_round: list[dict[str, dict[str, Any]]] = []
    print(f"\n{title}: {count} rounds of {seconds}s, {users} users/connections")
    for index in range(count):
        order = list(runners) if index % 2 == 0 else list(reversed(runners))
        figures = {label: runners[label]() for label in order}
        per_round.append(figures)
        wrk = figures["wrk -t1"]["rps"]
        parts = [
            f"{label} {f['rps']:.0f} req/s p95 {f['p95_ms']:.1f} ms"
            + (f" (x{f['rps'] / wrk:.2f})" if label != "wrk -t1" else "")
            for label, f in figures.items()
        ]
        print(f"  round {index + 1} ({os.getloadavg()[0]:.1f} load): " + " · ".join(parts), flush=True)
    summary: dict[str, Any] = {}
    for label in runners:
        rps = [r[label]["rps"] for r in per_round]
        summary[label] = {
            "rps": statistics.median(rps),
            "p95_ms": statistics.median(r[label]["p95_ms"] for r in per_round),
            "failures": sum(r[label]["failures"] for r in per_round),
            "ratio_to_wrk": statistics.median(r[label]["rps"] / r["wrk -t1"]["rps"] for r in per_round),
        }
        for key in ("generator_cpu_percent", "generator_busy_percent"):
            values = [r[label][key] for r in per_round if r[label].get(key) is not None]
            if values:
                summary[label][key] = statistics.median(values)
        if label != "wrk -t1":
            summary[label]["generator_saturated_rounds"] = sum(
                1 for r in per_round if r[label].get("generator_saturated")
            )
    return {"rounds": per_round, "median": summary}


def print_table(title: str, result: dict[str, Any]) -> None:
    print(f"\n{title} (median of {len(result['rounds'])} rounds)")
    print(
        f"  {'generator':<30} {'req/s':>8} {'p95 ms':>8} {'x wrk':>6} {'gen CPU':>8} {'gen busy':>9} "
        f"{'saturated':>9} {'failures':>8}"
    )
    for label, f in result["median"].items():
        cpu, busy = f.get("generator_cpu_percent"), f.get("generator_busy_percent")
        saturated = f.get("generator_saturated_rounds")
        count = len(result["rounds"])
        print(
            f"  {label:<30} {f['rps']:>8.0f} {f['p95_ms']:>8.1f} {f['ratio_to_wrk']:>6.2f} "
            f"{f'{cpu:.0f}%' if cpu is not None else '-':>8} {f'{busy:.0f}%' if busy is not None else '-':>9} "
            f"{f'{saturated}/{count}' if saturated is not None else '-':>9} {f['failures']:>8}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of every run")
    parser.add_argument("--users", type=int, default=32, help="Locust users = wrk connections")
    parser.add_argument("--rounds", type=int, default=5, help="rounds on examples/shop")
    parser.add_argument(
        "--trivial-rounds", type=int, default=3, help="rounds on the trivial endpoint (0: skip)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="also run FastHttpUser with --workers N (0: not)"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the bench, its servers and generators at this niceness (negative needs root): "
        "on a machine busy with other work, the same head start for wrk and Locust",
    )
    args = parser.parse_args()
    # A stopped bench (SIGTERM) still runs its finally blocks: no server is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # inherited by every process the bench starts
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    cores = sorted(os.sched_getaffinity(0))
    load_cores, server_cores = ([cores[0]], [cores[-1]]) if len(cores) > 1 else (None, None)
    record: dict[str, Any] = {
        "seconds": args.seconds,
        "users": args.users,
        "cpus": os.cpu_count(),
        "load_cores": load_cores,
        "server_cores": server_cores,
        "load_average_before": os.getloadavg(),
        "nice": args.nice,
    }
    print(
        f"{os.cpu_count()} CPUs: server on core {server_cores}, load generator on core {load_cores} "
        f"(wrk and Locust alike) · niceness {args.nice} · load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        server, url = start_shop(work, server_cores)
        try:
            name, path, reads = busiest_read_endpoint(work, url)
            print(f"examples/shop at {url}; busiest read endpoint {name} ({path}) of {reads}")
            shop = rounds(
                work,
                url,
                path,
                name.removeprefix("GET "),
                users=args.users,
                seconds=args.seconds,
                count=args.rounds,
                workers=args.workers,
                load_cores=load_cores,
                title=f"examples/shop {name}",
            )
        finally:
            stop(server)
        record["shop"] = {"endpoint": name, "path": path, "reads_seen": reads, **shop}
        if args.trivial_rounds:
            port = free_port()
            trivial_url = f"http://127.0.0.1:{port}"
            log = work / "trivial.log"
            with log.open("wb") as out:
                trivial = subprocess.Popen(
                    pinned(server_cores, [sys.executable, "-c", TRIVIAL_SERVER, str(port)]),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            try:
                wait_healthy(trivial_url + "/", trivial, log)
                record["trivial"] = rounds(
                    work,
                    trivial_url,
                    "/",
                    "/",
                    users=args.users,
                    seconds=args.seconds,
                    count=args.trivial_rounds,
                    load_cores=load_cores,
                    title="trivial endpoint",
                    workers=args.workers,
                )
            finally:
                stop(trivial)
    record["load_average_after"] = os.getloadavg()
    print_table(f"examples/shop {name} ({args.users} users/connections, {args.seconds}s)", record["shop"])
    if "trivial" in record:
        print_table(f"trivial endpoint ({args.users} users/connections, {args.seconds}s)", record["trivial"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
