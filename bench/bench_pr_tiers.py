"""Wall time of examples/shop's pull-request tiers (unit, integration, api, e2e) as ``make demo`` runs them.

One round is one ``stagewise test --stage dev --unit --integration --api --e2e
--coverage --no-progress``: the dev stage's shop is started by the local
backend (migrated SQLite, health check), the four tiers run against it with
coverage, the coverage gates are applied and the report is written. Each
round's per-tier wall comes from its ``summary.json``; "outside the tiers" is
the rest of the round (stagewise's start-up, starting and stopping the shop,
the coverage gates, the report). CPU time (user + system of the whole round,
children included) is printed too: on a machine shared with other work it is
the steadier figure.

``--project`` runs another copy of the shop (e.g. an older commit's, from
``git archive``) so a change is measured against its baseline in one run;
with ``--baseline PATH`` the rounds alternate between the two.

Usage: ``python bench/bench_pr_tiers.py [--rounds 5] [--baseline PATH] [--no-coverage]``;
writes ``bench/results/pr_tiers.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
TIERS = ("unit", "integration", "api", "e2e")


DEV_PORT = 8000  # the dev stage's base_url in examples/shop/stagewise.toml


def port_in_use(port: int) -> bool:
    """Whether something already answers there: the dev stage would test it instead of its own shop."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def one_round(project: Path, coverage: bool) -> dict[str, float]:
    """Run the pull-request tiers once; per-tier wall, outside-the-tiers wall, total wall and CPU."""
    if port_in_use(DEV_PORT):
        raise SystemExit(f"127.0.0.1:{DEV_PORT} is in use: the dev stage would test that server, not its own")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAGEWISE_", "PYTEST_"))}
    env.setdefault("SHOP_API_TOKEN", secrets.token_hex(16))
    env["NO_COLOR"] = "1"
    with tempfile.TemporaryDirectory(prefix="stagewise-bench-pr-") as reports:
        command = [sys.executable, "-m", "stagewise", "test", "--stage", "dev"]
        command += [f"--{tier}" for tier in TIERS]
        command += ["--coverage"] if coverage else []
        command += ["--no-progress", "--project", str(project), "--reports-dir", reports]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(
                f"the pull-request tiers exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-1000:]}"
            )
        record = json.loads((Path(reports) / "latest" / "summary.json").read_text(encoding="utf-8"))
    figures = {t["name"]: float(t["duration_s"]) for t in record["tiers"]}
    tests = sum(int(t["tests"]) for t in record["tiers"])
    figures["outside the tiers"] = wall - sum(figures[name] for name in TIERS)
    figures["total"] = wall
    figures["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures["tests"] = tests
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--project", type=Path, default=SHOP, help="the shop to run (default: examples/shop)")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another copy of the shop, run alternately"
    )
    parser.add_argument("--no-coverage", action="store_true", help="leave --coverage out")
    args = parser.parse_args()
    sides = {"this": args.project.resolve()}
    if args.baseline is not None:
        sides["baseline"] = args.baseline.resolve()
    rounds: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for number in range(args.rounds):
        for side, project in sides.items():  # alternated, so the machine's drift hits both alike
            figures = one_round(project, coverage=not args.no_coverage)
            rounds[side].append(figures)
            tiers = ", ".join(f"{name} {figures[name]:.1f}" for name in TIERS)
            print(
                f"round {number + 1} {side}: total {figures['total']:.1f} s ({tiers}; "
                f"outside {figures['outside the tiers']:.1f}), cpu {figures['cpu']:.1f} s",
                flush=True,
            )
    keys = (*TIERS, "outside the tiers", "total", "cpu")
    medians = {
        side: {k: statistics.median(r[k] for r in runs) for k in keys} for side, runs in rounds.items()
    }
    result = {
        "rounds": args.rounds,
        "coverage": not args.no_coverage,
        "tests": {side: int(runs[0]["tests"]) for side, runs in rounds.items()},
        "median_s": {side: {k: round(v, 2) for k, v in m.items()} for side, m in medians.items()},
        "all_total_s": {side: [round(r["total"], 2) for r in runs] for side, runs in rounds.items()},
        "load_average": os.getloadavg()[0],
    }
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pr_tiers.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"pull-request tiers, median of {args.rounds} rounds (wall s; cpu = user + system s)")
    print(f"  {'':20}" + "".join(f"{side:>12}" for side in sides))
    for key in keys:
        print(f"  {key:20}" + "".join(f"{medians[side][key]:12.2f}" for side in sides))
    print(f"  {'tests':20}" + "".join(f"{result['tests'][side]:12d}" for side in sides))
    print(f"  target: total <= 45 s; load average {result['load_average']:.1f} over {os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
