"""--shard K/4 wall times on a generated suite of 300 tests with varied durations and shared fixtures.

A throwaway project (its own pytest 8 venv, tests/pyvenvs.py): 10 modules of
30 tests sleeping 0-40 ms (seeded), as a real suite has them: a session-scoped
fixture every test uses (0.3 s, e.g. an app or a database) and, in three of
the modules, a module-scoped one (0.5 s, e.g. a schema loaded per module).
One whole run records the durations; then the four shards run, ROUNDS times
interleaved (1/4, 2/4, 3/4, 4/4, 1/4, ...), each timed. A shared machine's
noise lands on the fixed cost of a run (interpreter and pytest start-up,
collection), so each shard's figure is its median; the single first round is
printed too. Also printed: each shard's own test time (setup + call +
teardown of its tests, from its run's records), the splitter's share of the
balance without the start-up noise.

    .venv/bin/python bench/bench_shards.py [--rounds N] [--no-fixtures]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stagewise.pipeline.durations import run_durations
from tests import pyvenvs
from tests.helpers import cli_env

SHARDS = 4
CONFTEST = """\
import time

import pytest


@pytest.fixture(scope="session")
def app():
    time.sleep(0.3)
    return "app"
"""
MODULE_FIXTURE = """\

@pytest.fixture(scope="module")
def schema(app):
    time.sleep(0.5)
    return "schema"
"""


def _run(root: Path, *args: str) -> tuple[float, float]:
    """Wall seconds of one `stagewise test --unit` and its tests' own seconds (from the run's records)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "stagewise", "test", "--unit", "--no-progress", "--json", *args],
        cwd=root, env=cli_env(), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    record = json.loads(done.stdout)
    return wall, sum(run_durations(Path(record["run_dir"])).values())


def _suite(root: Path, python: Path, fixtures: bool) -> None:
    rng = random.Random(17)  # noqa: S311 - seeded bench data
    (root / "stagewise.toml").write_text(f'[project]\npython = "{python}"\n')
    tests = root / "tests" / "unit"
    tests.mkdir(parents=True)
    if fixtures:
        (tests / "conftest.py").write_text(CONFTEST)
    for module in range(10):
        shared = fixtures and module in (2, 5, 8)
        body = ["import time\n", "import pytest\n", MODULE_FIXTURE if shared else ""]
        argument = "schema" if shared else ("app" if fixtures else "")
        for i in range(30):
            body.append(f"def test_{i}({argument}):\n    time.sleep({rng.uniform(0.0, 0.04):.4f})\n")
        (tests / f"test_m{module}.py").write_text("\n".join(body))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-fixtures", action="store_true", help="the plain suite: no shared fixtures")
    options = parser.parse_args()
    python = pyvenvs.project_venv(pyvenvs.PYTEST_8_RECORD)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _suite(root, python, fixtures=not options.no_fixtures)
        full, full_tests = _run(root)
        walls: list[list[float]] = [[] for _ in range(SHARDS)]
        own: list[list[float]] = [[] for _ in range(SHARDS)]
        for _ in range(options.rounds):
            for k in range(SHARDS):
                wall, tests = _run(root, "--shard", f"{k + 1}/{SHARDS}")
                walls[k].append(wall)
                own[k].append(tests)
    kind = "with a session fixture and 3 module fixtures" if not options.no_fixtures else "no shared fixtures"
    print(f"300 tests ({kind}), whole tier: {full:.2f}s wall, {full_tests:.2f}s of tests")
    for k in range(SHARDS):
        rounds = " ".join(f"{w:.2f}" for w in walls[k])
        print(
            f"--shard {k + 1}/{SHARDS}: median {statistics.median(walls[k]):.2f}s wall (rounds: {rounds}), "
            f"its tests {statistics.median(own[k]):.2f}s"
        )
    first = [w[0] for w in walls]
    medians = [statistics.median(w) for w in walls]
    tests = [statistics.median(t) for t in own]
    print(f"max/min wall, first round: {max(first) / min(first):.3f}")
    print(
        f"max/min wall, median of {options.rounds} rounds: {max(medians) / min(medians):.3f} (target <= 1.2)"
    )
    print(f"max/min of the shards' own test time: {max(tests) / min(tests):.3f}")


if __name__ == "__main__":
    main()
