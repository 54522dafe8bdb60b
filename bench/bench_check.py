"""``stagewise check`` on examples/shop: wall time, median of 5 (target < 30 s).

Each run is the real CLI in examples/shop (its ruff, the unit tier, bandit;
the shop configures no mypy, so the types step shows as not run), its report
written to a temporary folder so the shop's own reports/ stay as they are.
Prints each run's wall time and step times, then the median.

    .venv/bin/python bench/bench_check.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import SHOP, cli_env

RUNS = 5
TARGET_SECONDS = 30.0


def _run(reports: Path) -> tuple[float, dict[str, float], int]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "stagewise", "check", "--json", "--reports-dir", str(reports)],
        cwd=SHOP, env=cli_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"stagewise check exited {done.returncode}:\n{done.stdout}{done.stderr}")
    record = json.loads(done.stdout)
    return seconds, {t["name"]: t["duration_s"] for t in record["tiers"]}, done.returncode


def main() -> None:
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(1, RUNS + 1):
            seconds, steps, _code = _run(Path(folder))
            times.append(seconds)
            shown = ", ".join(f"{name} {value:.2f}s" for name, value in steps.items())
            print(f"run {run}: {seconds:.2f}s ({shown})")
    median = statistics.median(times)
    verdict = "met" if median < TARGET_SECONDS else "MISSED"
    print(
        f"stagewise check on examples/shop: median of {RUNS} {median:.2f}s (target < {TARGET_SECONDS:.0f}s: {verdict})"
    )


if __name__ == "__main__":
    main()
