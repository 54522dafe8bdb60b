"""Real ``stagewise check`` and ``stagewise test`` runs in one project share history.jsonl, compared apart.

The check's unit step and the test run's unit tier are both a tier called
``unit`` over the same tests; the page of a test run charts only test runs,
and ``report flaky`` counts one command's runs.
"""

from __future__ import annotations

import json

from tests import pyvenvs
from tests.conftest import ProjectFactory
from tests.helpers import run_cli

TESTS = "def test_one():\n    assert True\n\n\ndef test_two():\n    assert True\n"


def test_check_and_test_runs_share_history_but_not_trends(make_project: ProjectFactory) -> None:
    python = pyvenvs.project_venv(pyvenvs.PYTEST_8)
    root = make_project(
        {
            "stagewise.toml": f'[project]\npython = "{python}"\n\n[check]\nsteps = ["unit"]\n',
            "tests/unit/test_n.py": TESTS,
        }
    )
    for command in (("check",), ("test", "--unit", "--no-progress"), ("check",), ("test", "--unit")):
        done = run_cli(*command, cwd=root, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(raw) for raw in (root / "reports" / "history.jsonl").read_text().splitlines()]
    assert [(line["command"], list(line["tiers"])) for line in lines] == [
        ("check", ["unit"]),
        ("test", ["unit"]),
        ("check", ["unit"]),
        ("test", ["unit"]),
    ]
    page = (root / "reports" / "latest" / "index.html").read_text(encoding="utf-8")
    trends = page.split("<section id='trends'>", 1)[1].split("</section>", 1)[0]
    assert "over the last 2 runs of stagewise test: unit" in trends
    assert "data-points='2'" in trends
    flaky = run_cli("report", "flaky", "--command", "check", "--json", cwd=root)
    assert flaky.returncode == 0, flaky.stderr
    assert json.loads(flaky.stdout)["runs"] == 2
    plain = run_cli("report", "flaky", cwd=root)
    assert "no flaky tests in the last 2 run(s) of stagewise test" in plain.stdout
