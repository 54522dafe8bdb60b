"""Benchmarks named in the issues, measured in one run on this machine.

1. Wall time of ``stagewise test --unit`` over ``python -m pytest tests/unit``
   on examples/shop (target: ratio <= 1.03). Runs alternate so drift in
   machine load hits both sides alike; the median of the per-round ratios is reported.
2. Wall time of ``stagewise --help`` (target: <= 0.1 s), median of many runs.
3. ``stagewise test`` start-up: from exec to the child pytest's start (a tiny
   plugin loaded through ``PYTEST_ADDOPTS`` stamps the time pytest loads it).

Usage: ``python bench/bench_cli.py [--rounds N]``; prints a table and writes
``bench/results/cli.json``.
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
SHOP = REPO / "examples" / "shop"


#: CPU seconds (user + system, children included) of each timed command, by its argv[3:] as a key.
CPU: dict[str, list[float]] = {}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one run; its CPU seconds go to ``CPU`` (the steadier figure on a loaded machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout.decode()[-2000:]}")
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(" ".join(command[1:4]), []).append(used)
    return elapsed


def compile_installed_packages(python: str) -> None:
    """Write the bytecode of stagewise and the shop, as ``pip install`` of their wheels would.

    Both are editable installs here, and this machine sets PYTHONDONTWRITEBYTECODE=1: without
    this step every run compiles stagewise's ~45 modules from source (about 47 ms), a cost no
    installed copy pays. Python still reads bytecode under that setting; it only never writes it.
    """
    find = "import stagewise, shop, sys; print(stagewise.__path__[0]); print(shop.__path__[0])"
    done = subprocess.run([python, "-c", find], capture_output=True, text=True, check=True, cwd=SHOP)
    packages = done.stdout.split()
    subprocess.run([python, "-m", "compileall", "-q", *packages], check=True, capture_output=True)


#: ``stagewise test --unit``'s steps before the child starts, run in order in one process, each
#: one's CPU milliseconds printed (the thread's report preparation runs beside the child).
_STEPS = """
import os, sys, time
from pathlib import Path
t = [time.process_time()]
def step(): t.append(time.process_time())
from stagewise.cli.parser import build_parser, parse; step()
args = parse(build_parser(), ["test", "--unit"]); step()
from stagewise.pipeline.test_run import TestRequest, run_tests; from stagewise.project.loader import load_project; step()
project = load_project(Path(".")); step()
from stagewise.pipeline.plan import plan_run, preflight
request = TestRequest(tiers=("unit",)); plan = plan_run(project, request); step()
from stagewise.project.env import resolve_env
resolve_env(project, plan.stage, dict(os.environ), {}); preflight(project, plan, request, print); step()
from stagewise.pipeline.test_run import _prepare_report; _prepare_report(project.root, plan.python); step()
print(" ".join(f"{(b - a) * 1000:.1f}" for a, b in zip(t, t[1:])))
"""
STEP_NAMES = (
    "import the CLI + build the parser + parse",
    "import the pipeline + loader",
    "load stagewise.toml",
    "plan the run (tiers imported)",
    "resolve env + tool preflight",
    "report prep (thread, beside the child)",
)


def startup_steps(python: str, env: dict[str, str], rounds: int) -> dict[str, float]:
    """Median CPU milliseconds of each step before the child pytest starts."""
    seen: list[list[float]] = []
    for _ in range(rounds):
        done = subprocess.run(
            [python, "-c", _STEPS], cwd=SHOP, env=env, capture_output=True, text=True, check=True
        )
        seen.append([float(v) for v in done.stdout.split()[-len(STEP_NAMES) :]])
    return {name: statistics.median(r[i] for r in seen) for i, name in enumerate(STEP_NAMES)}


def startup(ours: list[str], env: dict[str, str], rounds: int) -> float:
    """Median seconds from exec of ``stagewise test`` to the child pytest loading its plugins."""
    stamps = Path(tempfile.mkdtemp(prefix="stagewise-bench-start-"))
    (stamps / "swbench_start.py").write_text(
        "import os, time\n"
        "with open(os.environ['SWBENCH_START_FILE'], 'a') as out:\n"
        "    out.write(f'{time.time()}\\n')\n"
    )
    stamp = stamps / "stamp"
    child = {
        **env,
        "PYTHONPATH": os.pathsep.join(p for p in (str(stamps), env.get("PYTHONPATH", "")) if p),
        "PYTEST_ADDOPTS": "-p swbench_start",
        "SWBENCH_START_FILE": str(stamp),
    }
    seen = []
    for _ in range(rounds):
        stamp.unlink(missing_ok=True)
        started = time.time()
        subprocess.run(ours, cwd=SHOP, env=child, capture_output=True, check=False)
        if stamp.exists():
            seen.append(float(stamp.read_text().split()[0]) - started)
    return statistics.median(seen) if seen else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGEWISE_")}
    env["NO_COLOR"] = "1"
    python = sys.executable
    reports = Path(tempfile.mkdtemp(prefix="stagewise-bench-"))
    plain = [python, "-m", "pytest", "tests/unit"]
    ours = [python, "-m", "stagewise", "test", "--unit", "--reports-dir", str(reports)]
    compile_installed_packages(python)
    timed(plain, SHOP, env)  # warm the file cache for both sides
    timed(ours, SHOP, env)
    CPU.clear()
    plain_times, ours_times = [], []
    for _ in range(args.rounds):
        plain_times.append(timed(plain, SHOP, env))
        ours_times.append(timed(ours, SHOP, env))
    help_times = [
        timed([python, "-m", "stagewise", "--help"], REPO, env) for _ in range(max(args.rounds, 15))
    ]
    console = Path(python).with_name("stagewise")
    script_times = (
        [timed([str(console), "--help"], REPO, env) for _ in range(max(args.rounds, 15))]
        if console.exists()
        else []
    )
    start_s = startup(ours, env, args.rounds)
    steps = startup_steps(python, env, args.rounds)
    bare_python = [timed([python, "-c", "pass"], REPO, env) for _ in range(max(args.rounds, 15))]
    ratios = [b / a for a, b in zip(plain_times, ours_times, strict=True)]
    plain_cpu, ours_cpu = CPU[" ".join(plain[1:4])], CPU[" ".join(ours[1:4])]
    cpu_ratios = [b / a for a, b in zip(plain_cpu, ours_cpu, strict=True)]
    result = {
        "rounds": args.rounds,
        "pytest_unit_median_s": statistics.median(plain_times),
        "stagewise_unit_median_s": statistics.median(ours_times),
        "ratio": statistics.median(ratios),
        "pytest_unit_cpu_median_s": statistics.median(plain_cpu),
        "stagewise_unit_cpu_median_s": statistics.median(ours_cpu),
        "cpu_ratio": statistics.median(cpu_ratios),
        "test_startup_median_s": start_s,
        "load_average": os.getloadavg()[0],
        "help_median_s": statistics.median(help_times),
        "startup_steps_cpu_ms": steps,
        "bare_python_median_s": statistics.median(bare_python),
        "help_console_script_median_s": statistics.median(script_times) if script_times else None,
    }
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "cli.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"python -m pytest tests/unit   median {result['pytest_unit_median_s']:.3f} s")
    print(f"stagewise test --unit         median {result['stagewise_unit_median_s']:.3f} s")
    print(f"ratio (median of rounds)       {result['ratio']:.3f}  (target <= 1.03)")
    print(
        f"cpu: pytest {result['pytest_unit_cpu_median_s']:.3f} s, stagewise "
        f"{result['stagewise_unit_cpu_median_s']:.3f} s, ratio {result['cpu_ratio']:.3f}"
    )
    print(f"stagewise test start-up       median {start_s:.3f} s  (exec -> child pytest start)")
    for name, ms in steps.items():
        print(f"  {name:44} {ms:6.1f} ms cpu")
    print(
        f"python -c pass                median {result['bare_python_median_s']:.3f} s  (an interpreter's start)"
    )
    print(f"python -m stagewise --help    median {result['help_median_s']:.3f} s  (target <= 0.1)")
    if script_times:
        print(f"stagewise --help (script)     median {result['help_console_script_median_s']:.3f} s")
    print(f"load average {result['load_average']:.2f} over {os.cpu_count()} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
