"""xfailed, xpassed and deselected from a real `stagewise test`, on the terminal, in summary.json and the page.

A pytest 7.4 project in its own venv (``project.python``) with
``--strict-markers`` and a stage that selects ``smoke``, a marker the project
never registers: stagewise registers it for the child, or collection fails.
The failure it reports is a node id that, pasted into pytest, runs that test.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests import pyvenvs
from tests.conftest import ProjectFactory
from tests.helpers import run_cli

TESTS = """
import pytest

@pytest.mark.smoke
def test_ok():
    pass

@pytest.mark.smoke
@pytest.mark.parametrize("n", [1, 2])
def test_bad(n):
    assert n == 1

@pytest.mark.smoke
@pytest.mark.xfail(reason="planted xfail: it fails on purpose and must count as xfailed")
def test_known_bug():
    assert False

@pytest.mark.smoke
@pytest.mark.xfail(reason="planted xpass: it passes on purpose and must count as xpassed")
def test_maybe_fixed():
    pass

@pytest.mark.smoke
@pytest.mark.skip(reason="planted skip: counted as skipped, apart from xfail and deselected")
def test_skipped():
    pass

def test_not_smoke():
    pass
"""


def test_counts_apart_from_skipped_everywhere(make_project: ProjectFactory, tmp_path: Path) -> None:
    python = pyvenvs.project_venv(pyvenvs.PYTEST_7_RECORD)
    root = make_project(
        {
            "stagewise.toml": f'[project]\npython = "{python}"\n\n[stages.test]\ntiers = ["unit"]\nmarkers = "smoke"\n',
            "pytest.ini": "[pytest]\naddopts = --strict-markers\n",
            "tests/unit/test_counts.py": TESTS,
        }
    )
    reports = tmp_path / "reports"
    done = run_cli("test", "--unit", "--no-progress", "--reports-dir", str(reports), cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    unit = json.loads((reports / "latest" / "summary.json").read_text())["tiers"][0]
    figures = {
        key: unit[key] for key in ("tests", "passed", "failed", "skipped", "xfailed", "xpassed", "deselected")
    }
    assert figures == {
        "tests": 6,
        "passed": 2,
        "failed": 1,
        "skipped": 1,
        "xfailed": 1,
        "xpassed": 1,
        "deselected": 1,
    }, done.stdout
    assert [f["name"] for f in unit["failed_tests"]] == ["tests/unit/test_counts.py::test_bad[2]"]
    line = next(
        text for text in done.stdout.splitlines() if text.startswith("── unit ") and " passed " in text
    )
    assert re.search(r"1 skipped .*1 xfailed\s+1 xpassed\s+1 deselected$", line), line
    page = (reports / "latest" / "index.html").read_text(encoding="utf-8")
    row = re.search(r"<tr id='tier-unit'.*?</tr>", page, re.S)
    assert row
    assert re.findall(r"<td class='n'>([^<]*)</td>", row.group(0))[:8] == [
        "2",
        "1",
        "0",
        "1",
        "0",
        "1",
        "1",
        "1",
    ]

    # the failure's name pastes into pytest and runs exactly that test
    pasted = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            unit["failed_tests"][0]["name"],
            "-p",
            "no:cacheprovider",
            "-m",
            "smoke",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # bare pytest lacks stagewise's marker registration, so register smoke the way a user would
    assert "'smoke' not found in `markers`" in pasted.stdout
    pasted = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            unit["failed_tests"][0]["name"],
            "-o",
            "markers=smoke",
            "-p",
            "no:cacheprovider",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "1 failed in" in pasted.stdout, pasted.stdout
