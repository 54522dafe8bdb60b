"""The resilience tier's figures on the local topology, and its wall time, through the CLI.

Runs ``stagewise test --resilience`` on a copy of examples/shop (the shop in
both regions) and in throwaway projects (stagewise's region service) for: the
default scenario in network namespaces (the default) and on loopback, with
synchronous replication, with stagewise's own ``pg_promote`` manager instead
of Patroni, and the planted faults (latency, partition, bandwidth,
blackhole); prints each run's exit code, wall time and headline figures (lag
P50/P95/P99, RTO, RPO, availability, routing accuracy, weight deviation) from
``reports/latest/resilience/summary.json``.

Usage: ``python bench/bench_resilience.py [--rounds N] [--no-netns]``;
writes ``bench/results/resilience.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SHOP = REPO / "examples" / "shop"
LOOPBACK = '[resilience.local]\nnetwork = "loopback"\n'
RUNS: dict[str, tuple[str | None, str]] = {
    # name: (project file; None = a copy of examples/shop, scenario)
    "examples/shop in both regions (netns, Patroni, async)": (None, "default"),
    "default (netns, Patroni, async)": ("", "default"),
    "default (netns, Patroni, sync remote_apply)": ('[resilience.local]\nreplication = "sync"\n', "default"),
    "default (loopback, Patroni, async)": (LOOPBACK, "default"),
    "default (netns, stagewise pg_promote after 1 s)": (
        '[resilience.local]\nfailover = "stagewise"\npromote_after = 1\n',
        "default",
    ),
    "replication-latency 150 ms (planted)": ("", "replication-latency"),
    "partition (netns, planted)": ("", "partition"),
    "bandwidth 256 kbit (netns, planted)": ("", "bandwidth"),
    "blackhole, health-checked router": ("", "blackhole"),
}


def run(work: Path, name: str, toml: str | None, scenario: str) -> dict[str, object]:
    root = work / "project"
    shutil.rmtree(root, ignore_errors=True)
    if toml is None:
        shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".stagewise", "reports", "__pycache__"))
    else:
        root.mkdir(parents=True)
        (root / "stagewise.toml").write_text("[project]\nname = 'bench'\n" + toml)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "stagewise", "test", "--resilience", "--no-progress", "--scenario", scenario],
        cwd=root,
        env=dict(os.environ, NO_COLOR="1"),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    summary_file = root / "reports" / "latest" / "resilience" / "summary.json"
    figures = json.loads(summary_file.read_text())["figures"] if summary_file.exists() else {}
    failed = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("FAIL")]
    return {"exit": done.returncode, "wall_s": round(elapsed, 2), "figures": figures, "failed": failed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-netns", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stagewise-bench-res-"))
    results: dict[str, object] = {}
    for name, (configured, scenario) in RUNS.items():
        toml = configured
        if args.no_netns:  # no root here: every region on loopback, the namespace-only faults skipped
            if configured is None or scenario in ("partition", "bandwidth") or "loopback" in name:
                continue
            toml = (
                configured.replace("[resilience.local]\n", LOOPBACK)
                if "[resilience.local]" in configured
                else configured + LOOPBACK
            )
        rounds = [run(work, name, toml, scenario) for _ in range(args.rounds)]
        walls = [float(str(r["wall_s"])) for r in rounds]
        results[name] = {"rounds": rounds, "median_wall_s": statistics.median(walls)}
        last = rounds[-1]
        print(f"{name}: exit {last['exit']}, {statistics.median(walls):.1f} s")
        for key, value in dict(last["figures"]).items():  # type: ignore[call-overload]
            print(f"    {key} = {value}")
        for line in list(last["failed"]):  # type: ignore[call-overload]
            print(f"    {line}")
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "resilience.json").write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
