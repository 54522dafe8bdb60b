"""Coverage gates that mean what they say, on projects whose own pytest config measures coverage too.

Real pytest and pytest-cov in a subprocess. The project of the issue: an
older app pinning pytest 7 (pytest-cov 4.1, xdist 3.5, a real cached venv),
whose addopts carry ``--cov=app --cov=tests --cov-fail-under=100 -n 2 -p no:cacheprovider``.
Without ``--coverage`` that fail-under acts exactly as in bare pytest; with
it, stagewise's numbers count only ``coverage.source`` (the project's
``--cov=tests`` adds data, never a number), the fail-under is applied once
to the combined data, and each report is written once.

app/calc.py has 6 statements of which unit tests run 3; app/config.py has 4 of
which only the integration test runs 3. So unit alone covers 3/10 = 30% of
app, unit + integration 6/10 = 60%, and app/config.py is 75% covered.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import ProjectFactory
from tests.helpers import cli_env, run_cli
from tests.pyvenvs import PYTEST_7_COV4_COVERAGE6, PYTEST_7_COV_XDIST, project_venv

FILES = {
    "server/__init__.py": "",
    "server/calc.py": "def add(a, b):\n    return a + b\n",
    "tests/unit/test_calc.py": "from server.calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}

APP = {
    "app/__init__.py": "",
    "app/calc.py": "def add(a, b):\n    return a + b\n\n\ndef unused(x):\n    if x:\n        return 1\n    return 2\n",
    "app/config.py": 'def load(env):\n    if "PORT" in env:\n        return int(env["PORT"])\n    return 8000\n',
    "tests/unit/test_calc.py": "from app.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    "tests/integration/test_config.py": (
        "from app.config import load\n\n\ndef test_load():\n    assert load({}) == 8000\n"
    ),
    "pyproject.toml": (
        "[tool.pytest.ini_options]\n"
        'addopts = "--cov=app --cov=tests --cov-fail-under=100 -n 2 -p no:cacheprovider"\n'
        'pythonpath = ["."]\n'
    ),
}


def summary(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "reports" / "latest" / "summary.json").read_text())
    return data


def gates(root: Path) -> dict[str, dict[str, Any]]:
    return {g["name"]: g for g in summary(root)["gates"]}


def app_project(make_project: ProjectFactory, coverage: str = "") -> Path:
    """The addopts project in its own pytest 7 venv; ``coverage`` is appended to stagewise.toml."""
    python = project_venv(PYTEST_7_COV_XDIST)
    toml = f'[project]\npython = "{python}"\nsource = ["app"]\n{coverage}'
    return make_project({**APP, "stagewise.toml": toml})


def measured_paths(data_file: Path) -> set[str]:
    """The files a coverage data file holds (it is SQLite), relative to the project."""
    with sqlite3.connect(data_file) as db:
        paths = {row[0] for row in db.execute("select path from file")}
    return {str(Path(p).relative_to(data_file.parents[2])) for p in paths}


def test_no_coverage_data_fails_the_gate_when_fail_under_is_set(make_project: ProjectFactory) -> None:
    toml = '[project]\nsource = ["servr"]\n[coverage]\nfail_under = 80\n'
    root = make_project({**FILES, "stagewise.toml": toml})
    done = run_cli("test", "--unit", "--coverage", cwd=root, env={"PYTHONPATH": str(root)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "unit         passed" in done.stdout, "the tests themselves passed"
    assert "coverage measured no file under coverage.source (servr)" in done.stdout
    assert "coverage.source servr: no such folder, file or module here" in done.stdout
    assert not (root / "reports" / "latest" / "coverage.json").exists()
    assert [(g["name"], g["passed"]) for g in summary(root)["gates"]] == [("coverage", False)]


def test_no_coverage_data_without_fail_under_is_no_gate(make_project: ProjectFactory) -> None:
    root = make_project({**FILES, "stagewise.toml": '[project]\nsource = ["servr"]\n'})
    done = run_cli("test", "--unit", "--coverage", cwd=root, env={"PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary(root)["gates"] == []


def test_without_coverage_the_projects_fail_under_acts_as_in_bare_pytest(
    make_project: ProjectFactory,
) -> None:
    root = app_project(make_project)
    python = project_venv(PYTEST_7_COV_XDIST)
    bare = subprocess.run(
        [str(python), "-m", "pytest", "tests/unit"],
        cwd=root,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bare.returncode == 1, bare.stdout
    assert "Required test coverage of 100% not reached" in bare.stdout
    done = run_cli("test", "--unit", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    unit = summary(root)["tiers"][0]
    assert (unit["status"], unit["passed"], unit["failed"]) == ("failed", 1, 0)
    assert "Required test coverage of 100% not reached" in Path(unit["log"]).read_text()
    assert summary(root)["gates"] == [], "no --coverage: stagewise measures nothing and gates nothing"


def test_with_coverage_one_gate_over_the_source_applied_once_and_each_report_written_once(
    make_project: ProjectFactory,
) -> None:
    root = app_project(make_project)
    done = run_cli("test", "--unit", "--integration", "--coverage", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    record = summary(root)
    assert [(t["name"], t["status"]) for t in record["tiers"]] == [
        ("unit", "passed"),
        ("integration", "passed"),
    ]
    assert all("Required test coverage" not in Path(t["log"]).read_text() for t in record["tiers"])
    gate = gates(root)["coverage"]
    assert (gate["measured"], gate["limit"], gate["passed"], gate["applicable"]) == (60.0, 100.0, False, True)
    assert "the project's pytest addopts --cov-fail-under" in gate["message"]
    assert record["coverage_percent"] == 60.0, "app only: the project's --cov=tests adds no number"

    run_dir = Path(record["run_dir"])
    unit_data, integration_data = run_dir / ".coverage.unit", run_dir / ".coverage.integration"
    assert "tests/unit/test_calc.py" in measured_paths(unit_data), "the project's --cov=tests still measured"
    assert "app/config.py" in measured_paths(integration_data)
    report = json.loads((run_dir / "coverage.json").read_text())
    assert sorted(report["files"]) == ["app/__init__.py", "app/calc.py", "app/config.py"]
    assert report["totals"]["percent_covered"] == 60.0
    assert (run_dir / "coverage-html" / "index.html").is_file()
    assert done.stdout.count("TOTAL") == 1, "one terminal table, of the combined data"
    assert not (root / "htmlcov").exists()
    assert not (root / "coverage.json").exists()
    assert "Required test coverage" not in done.stdout


def test_unit_only_run_says_why_the_combined_gate_does_not_apply(make_project: ProjectFactory) -> None:
    root = app_project(make_project, "[coverage]\nfail_under = 50\n")
    done = run_cli("test", "--unit", "--coverage", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    gate = gates(root)["coverage"]
    assert (gate["passed"], gate["applicable"]) == (True, False)
    assert "not applicable: integration did not run in this run" in done.stdout
    assert "over unit + integration" in gate["message"]
    assert summary(root)["coverage_percent"] == 30.0
    page = (root / "reports" / "latest" / "index.html").read_text()
    assert "– fail_under 50%" in page, "the page shows the gate as not applicable, not as passed"


def test_a_tier_below_its_threshold_fails_the_run_naming_the_tier(make_project: ProjectFactory) -> None:
    root = app_project(make_project, "[coverage.tiers]\nunit = 70\n")
    done = run_cli("test", "--unit", "--coverage", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    gate = gates(root)["coverage unit"]
    assert (gate["measured"], gate["limit"], gate["passed"]) == (30.0, 70.0, False)
    assert "coverage of the unit tier 30.0% is below its threshold 70% (coverage.tiers.unit)" in done.stdout
    assert not gates(root)["coverage"]["applicable"], "addopts' 100% is for unit + integration"


def test_gates_for_whole_tiers_do_not_apply_to_a_run_that_picked_some_tests(
    make_project: ProjectFactory,
) -> None:
    """A node id or -k measures part of a tier: its threshold would fail for the wrong reason."""
    root = app_project(make_project, "[coverage]\nfail_under = 50\n[coverage.tiers]\nunit = 70\n")
    done = run_cli("test", "--coverage", "tests/unit/test_calc.py::test_add", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    found = gates(root)
    assert not found["coverage unit"]["applicable"]
    assert (
        "not applicable: this run ran part of the tests (it picked tests/unit/test_calc.py::test_add)"
        in (found["coverage unit"]["message"])
    )
    assert not found["coverage"]["applicable"]
    whole = run_cli("test", "--unit", "--coverage", cwd=root)
    assert whole.returncode == 1, "the same threshold fails the whole tier: the gate is real"


def test_a_module_below_its_goal_fails_the_run_naming_the_module(make_project: ProjectFactory) -> None:
    goals = '[coverage]\nfail_under = 50\n[coverage.modules]\n"app/config.py" = 100\n"app.calc" = 40\n'
    root = app_project(make_project, goals)
    done = run_cli("test", "--unit", "--integration", "--coverage", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    found = gates(root)
    assert found["coverage"]["passed"], "60% meets the combined 50%: only the module goal fails"
    assert found["coverage app.calc"]["passed"]
    module = found["coverage app/config.py"]
    assert (module["measured"], module["passed"]) == (75.0, False)
    assert "coverage of app/config.py 75.0% is below its goal 100%" in done.stdout


def test_a_bad_coverage_table_is_exit_3_before_anything_runs(make_project: ProjectFactory) -> None:
    root = app_project(make_project, "[coverage.tiers]\napi = 50\n")
    done = run_cli("test", "--unit", "--coverage", cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "coverage.tiers.api: tier 'api' does not measure coverage" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (root / "reports").exists()


def test_the_combine_step_works_with_the_oldest_coverage_with_a_wheel_pytest_cov_4_allows(
    make_project: ProjectFactory,
) -> None:
    """The combine runs in the project's interpreter with the project's coverage, here 6.5."""
    python = project_venv(PYTEST_7_COV4_COVERAGE6)
    toml = f'[project]\npython = "{python}"\nsource = ["app"]\n[coverage.modules]\n"app.config" = 50\n'
    files = {
        **APP,
        "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "--cov=tests"\npythonpath = ["."]\n',
    }
    root = make_project({**files, "stagewise.toml": toml})
    done = run_cli("test", "--unit", "--integration", "--coverage", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    record = summary(root)
    report = json.loads((Path(record["run_dir"]) / "coverage.json").read_text())
    assert report["meta"]["version"] == "6.5.0"
    assert sorted(report["files"]) == ["app/__init__.py", "app/calc.py", "app/config.py"]
    assert 0 < record["coverage_percent"] < 100
    assert gates(root)["coverage app.config"]["passed"]
