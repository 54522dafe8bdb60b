"""The resilience tier's figures on the local topology, and its wall time, through the CLI.

Runs ``stagewise test --resilience`` in a throwaway project for: the default
scenario on loopback and in network namespaces (root), the same with
synchronous replication, and the planted faults (latency, partition,
bandwidth, blackhole); prints each run's exit code, wall time and headline
figures (lag P50/P95/P99, RTO, RPO, availability, routing accuracy, weight
deviation) from ``reports/latest/resilience/summary.json``.

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

RUNS: dict[str, tuple[str, str]] = {
    # name: (project file, scenario)
    "default (loopback, async)": ("", "default"),
    "default (loopback, sync remote_apply)": ('[resilience.local]\nreplication = "sync"\n', "default"),
    "default (netns)": ('[resilience.local]\nnetwork = "netns"\n', "default"),
    "replication-latency 150 ms (planted)": ("", "replication-latency"),
    "partition (netns, planted)": ('[resilience.local]\nnetwork = "netns"\n', "partition"),
    "bandwidth 256 kbit (netns, planted)": ('[resilience.local]\nnetwork = "netns"\n', "bandwidth"),
    "blackhole, health-checked router": ("", "blackhole"),
}


def run(work: Path, name: str, toml: str, scenario: str) -> dict[str, object]:
    root = work / name.split(maxsplit=1)[0]
    shutil.rmtree(root, ignore_errors=True)
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
    for name, (toml, scenario) in RUNS.items():
        if args.no_netns and "netns" in toml:
            continue
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
