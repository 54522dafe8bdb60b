"""--shard K/4 wall times on a generated suite of 300 tests with varied durations.

A throwaway project (its own pytest 8 venv, tests/pyvenvs.py) with 300 tests
sleeping 0-40 ms (seeded): one whole run records the durations, then each of
the four shards runs and is timed. Prints each shard's wall time and the
max/min ratio (target <= 1.2).

    .venv/bin/python bench/bench_shards.py
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import pyvenvs
from tests.helpers import cli_env


def _run(root: Path, *args: str) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "stagewise", "test", "--unit", "--no-progress", *args],
        cwd=root, env=cli_env(), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    return time.monotonic() - started


def main() -> None:
    rng = random.Random(17)  # noqa: S311 - seeded bench data
    python = pyvenvs.project_venv(pyvenvs.PYTEST_8_RECORD)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "stagewise.toml").write_text(f'[project]\npython = "{python}"\n')
        tests = root / "tests" / "unit"
        tests.mkdir(parents=True)
        for module in range(10):
            body = ["import time\n"]
            for i in range(30):
                body.append(f"def test_{i}():\n    time.sleep({rng.uniform(0.0, 0.04):.4f})\n")
            (tests / f"test_m{module}.py").write_text("\n".join(body))
        full = _run(root)
        times = [_run(root, "--shard", f"{k}/4") for k in range(1, 5)]
        print(f"300 tests, whole tier: {full:.2f}s")
        for k, seconds in enumerate(times, 1):
            print(f"--shard {k}/4: {seconds:.2f}s")
        print(f"max/min ratio: {max(times) / min(times):.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
