"""Wall time of ``stagewise test`` next to bare pytest on a large flat suite in a project venv of its own.

Measured in one run:

- a generated project with ``--tests`` tests (default 2,000) in ``--files``
  files under ``tests/unit``, some parametrized, a few skipped, all passing;
- its interpreter is a real venv holding only pytest (tests/pyvenvs.py,
  ``--pytest`` picks the pin, default 8), named by ``project.python`` as a
  user of the installed package would (issue 14);
- ``<venv python> -m pytest tests/unit``, as a user types it: the floor;
- the same with ``--junitxml``: the floor of any tool that records every
  test's result (stagewise records them with its own plugin instead);
- ``stagewise test --unit --no-progress`` (stagewise in this interpreter,
  pytest in the project's): its tool probe, the record plugin, its JUnit
  file, the run record and the page included.

Each is run ``--repeat`` times (default 3) and the median is kept. Prints the
wall and CPU times and the ratios of stagewise to bare pytest; writes
``bench/results/test_overhead.json``.

Usage: ``python bench/bench_test_overhead.py [--tests 2000] [--files 40] [--pytest 7|8|9]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
sys.path.insert(0, str(REPO))

from tests.pyvenvs import PYTEST_7, PYTEST_8, PYTEST_9, project_venv  # noqa: E402

PINS = {"7": PYTEST_7, "8": PYTEST_8, "9": PYTEST_9}


def write_suite(root: Path, tests: int, files: int) -> None:
    """``tests`` passing tests over ``files`` files: plain functions, a parametrized one, one skip per file."""
    per_file = tests // files
    folder = root / "tests" / "unit"
    folder.mkdir(parents=True)
    for index in range(files):
        plain = per_file - 10 - 1
        body = ["import pytest\n"]
        body += [f"def test_plain_{n}():\n    assert {n} + 1 == {n + 1}\n" for n in range(plain)]
        body.append("@pytest.mark.parametrize('n', range(10))\ndef test_param(n):\n    assert n * 2 >= n\n")
        body.append("@pytest.mark.skip(reason='bench')\ndef test_skipped():\n    pass\n")
        (folder / f"test_mod_{index:03d}.py").write_text("\n".join(body), encoding="utf-8")


def timed(command: list[str], cwd: Path, expect: int = 0) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and its children)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAGEWISE_", "PYTEST_"))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != expect:
        raise SystemExit(f"{command[:4]} exited {done.returncode}: {(done.stdout + done.stderr)[-500:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--pytest", choices=sorted(PINS), default="8")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = str(project_venv(PINS[args.pytest]))
    with tempfile.TemporaryDirectory(prefix="stagewise-bench-") as tmp:
        root = Path(tmp)
        write_suite(root, args.tests, args.files)
        (root / "stagewise.toml").write_text(f'[project]\npython = "{python}"\n', encoding="utf-8")
        commands = {
            "pytest": [python, "-m", "pytest", "tests/unit"],
            "pytest_junitxml": [
                *[python, "-m", "pytest", "tests/unit"],
                *["--junitxml", str(root / "bare-junit.xml")],
            ],
            "stagewise": [sys.executable, "-m", "stagewise", "test", "--unit", "--no-progress"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        timed(commands["pytest"], root)  # warm the file cache and the .pyc files once
        for _ in range(args.repeat):
            for name, command in commands.items():  # interleaved, so drift hits all alike
                wall, used = timed(command, root)
                times[name].append(wall)
                cpu[name].append(used)
        record = json.loads((root / "reports" / "latest" / "summary.json").read_text(encoding="utf-8"))
        unit = next(t for t in record["tiers"] if t["name"] == "unit")
    median = {name: statistics.median(values) for name, values in times.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    result = {
        "tests": unit["tests"],
        "passed": unit["passed"],
        "skipped": unit["skipped"],
        "pytest": args.pytest,
        "repeat": args.repeat,
        "median_s": {k: round(v, 3) for k, v in median.items()},
        "all_s": {k: [round(v, 3) for v in values] for k, values in times.items()},
        "ratio_to_pytest": round(median["stagewise"] / median["pytest"], 3),
        "ratio_to_pytest_junitxml": round(median["stagewise"] / median["pytest_junitxml"], 3),
        # CPU time is what a loaded machine disturbs least: the steadier figure of the two.
        "median_cpu_s": {k: round(v, 3) for k, v in median_cpu.items()},
        "cpu_ratio_to_pytest": round(median_cpu["stagewise"] / median_cpu["pytest"], 3),
        "load_average": os.getloadavg()[0],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "test_overhead.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"{unit['tests']} tests ({unit['passed']} passed, {unit['skipped']} skipped), pytest {args.pytest} venv"
    )
    print(f"  {'':24}{'wall':>9}{'cpu':>9}")
    for name, label in (
        ("pytest", "bare pytest"),
        ("pytest_junitxml", "pytest --junitxml"),
        ("stagewise", "stagewise test --unit"),
    ):
        print(f"  {label:24}{median[name]:8.2f}s{median_cpu[name]:8.2f}s")
    print(
        f"  ratio stagewise / pytest: wall {result['ratio_to_pytest']:.2f}x, cpu {result['cpu_ratio_to_pytest']:.2f}x "
        f"(wall to pytest --junitxml: {result['ratio_to_pytest_junitxml']:.2f}x; "
        f"load average {result['load_average']:.1f})"
    )


if __name__ == "__main__":
    main()
