"""The dev pin keeps ``--dist loadgroup``: every ``xdist_group`` runs on one worker.

The suite's docker and resilience tests share one engine and one set of
network namespaces, so each group must run on one worker, one test at a time.
pytest-xdist 3.8 (the newest release) tags a group by rewriting
``item._nodeid``; pytest 9.2 reads the node id from elsewhere, so there the
groups silently spread over the workers. The dev extra's ``pytest>=9.0.3,<9.2``
rests on both tests here: the installed pytest keeps groups together, and the
newer pytest with the same xdist splits them (the check can tell).

A throwaway project with four groups of eight tests each records which
worker ran each test; run for real with ``-n 2 --dist loadgroup``.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tests import pyvenvs

GROUPS = "abcd"
PROJECT = """
import os
import pytest

def _record(group):
    with open(os.environ["WORKERS_FILE"], "a", encoding="utf-8") as out:
        out.write(f"{group} {os.environ['PYTEST_XDIST_WORKER']}\\n")

@pytest.mark.parametrize("i", range(8))
def test_free(i):
    _record("free")
"""
GROUP_TEST = """
@pytest.mark.xdist_group("{g}")
@pytest.mark.parametrize("i", range(8))
def test_{g}(i):
    _record("{g}")
"""


def _workers_by_group(python: str, tmp_path: Path) -> dict[str, set[str]]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_groups.py").write_text(
        PROJECT + "".join(GROUP_TEST.format(g=g) for g in GROUPS), encoding="utf-8"
    )
    record = tmp_path / "workers.txt"
    # this test may itself run in an xdist worker: its variables must not reach the child run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE_"))}
    env["WORKERS_FILE"] = str(record)
    # only xdist: the dev venv's other plugins (playwright, schemathesis, ...) cost seconds per worker
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    done = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "xdist",
            "-n",
            "2",
            "--dist",
            "loadgroup",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers: dict[str, set[str]] = defaultdict(set)
    for line in record.read_text(encoding="utf-8").splitlines():
        group, worker = line.split()
        workers[group].add(worker)
    assert sum(1 for _ in record.read_text(encoding="utf-8").splitlines()) == 8 * (len(GROUPS) + 1)
    return workers


def test_the_installed_pytest_and_xdist_keep_each_group_on_one_worker(tmp_path: Path) -> None:
    # stagewise's own interpreter: the versions the dev extra installed, which run this suite
    workers = _workers_by_group(sys.executable, tmp_path)
    versions = {name: importlib.metadata.version(name) for name in ("pytest", "pytest-xdist")}
    for group in GROUPS:
        assert len(workers[group]) == 1, f"group {group} ran on {sorted(workers[group])} with {versions}"
    assert set().union(*workers.values()) == {"gw0", "gw1"}  # both workers ran tests: a split was possible


def test_pytest_9_2_with_the_same_xdist_splits_the_groups(tmp_path: Path) -> None:
    python = pyvenvs.project_venv(("pytest==9.2.0", "pytest-xdist==3.8.0"))
    workers = _workers_by_group(str(python), tmp_path)
    assert any(len(workers[group]) > 1 for group in GROUPS), dict(workers)
