"""The coverage gate never passes silently: with ``fail_under`` set, no data is a failed gate.

Real pytest and pytest-cov in a subprocess: a coverage source the tests never
import (a misspelt package name) makes coverage collect nothing and write no
``coverage.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ProjectFactory
from tests.helpers import run_cli

FILES = {
    "server/__init__.py": "",
    "server/calc.py": "def add(a, b):\n    return a + b\n",
    "tests/unit/test_calc.py": "from server.calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}


def summary(root: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / "reports" / "latest" / "summary.json").read_text())
    return data


def test_no_coverage_data_fails_the_gate_when_fail_under_is_set(make_project: ProjectFactory) -> None:
    toml = '[project]\nsource = ["servr"]\n[coverage]\nfail_under = 80\n'
    root = make_project({**FILES, "stagewise.toml": toml})
    done = run_cli("test", "--unit", "--coverage", cwd=root, env={"PYTHONPATH": str(root)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "unit         passed" in done.stdout, "the tests themselves passed"
    assert "coverage was requested but no coverage data was written" in done.stdout
    assert "coverage.source (servr)" in done.stdout
    assert not (root / "reports" / "latest" / "coverage.json").exists()
    gates = summary(root)["gates"]
    assert isinstance(gates, list)
    assert [(g["name"], g["passed"]) for g in gates] == [("coverage", False)]


def test_no_coverage_data_without_fail_under_is_no_gate(make_project: ProjectFactory) -> None:
    root = make_project({**FILES, "stagewise.toml": '[project]\nsource = ["servr"]\n'})
    done = run_cli("test", "--unit", "--coverage", cwd=root, env={"PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary(root)["gates"] == []
