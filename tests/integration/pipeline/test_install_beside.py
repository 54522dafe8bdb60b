"""stagewise installed in a venv of its own runs a project's tests in the project's venv (issue 14).

Real venvs throughout: stagewise's is a wheel of this checkout with no extras
(tests/installed.py), the projects' pin pytest 7, 8 or 9 (tests/pyvenvs.py).
The CLI is the installed ``stagewise`` script, as a pipx user would run it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ProjectFactory
from tests.helpers import cli_env
from tests.installed import stagewise_pipx, stagewise_venv
from tests.pyvenvs import PYTEST_7, PYTEST_8, PYTEST_9, project_venv

TESTS = {
    "tests/unit/test_ok.py": "def test_one():\n    assert 1\n\ndef test_two():\n    assert 2\n",
    "tests/unit/test_skip.py": "import pytest\n\n@pytest.mark.skip(reason='planted skip: the throwaway suite must report one skipped test')\ndef test_later():\n    pass\n",
}
FAILING = {"tests/unit/test_bad.py": "def test_bad():\n    assert 1 == 2\n"}


@pytest.fixture(scope="module")
def stagewise_bin() -> Path:
    """The bin folder of the venv that holds only stagewise and its own dependencies."""
    return stagewise_venv().parent


def stagewise(
    bin_dir: Path, root: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, dict[str, Any]]:
    """Run the installed ``stagewise test``; exit code, output, and the run's summary.json (or {})."""
    reports = root / "reports"
    done = subprocess.run(
        [str(bin_dir / "stagewise"), "test", "--no-progress", "--reports-dir", str(reports), *args],
        cwd=root,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = reports / "latest" / "summary.json"
    record = json.loads(summary.read_text(encoding="utf-8")) if summary.is_file() else {}
    return done.returncode, done.stdout + done.stderr, record


def project_file(python: Path, extra: str = "") -> str:
    return f'[project]\npython = "{python}"\n{extra}'


def tier(record: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in record["tiers"] if t["name"] == name)
    return found


def test_the_installed_package_brings_no_pytest(stagewise_bin: Path) -> None:
    python = str(stagewise_bin / "python")
    probe = (
        "import importlib.metadata as m, importlib.util as u, json; "
        "print(json.dumps([u.find_spec('pytest') is not None, m.requires('stagewise') or []]))"
    )
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    importable, requires = json.loads(done.stdout)
    assert not importable, "pytest is importable in stagewise's own venv"
    core = [r for r in requires if "extra ==" not in r]
    assert core, requires
    assert not [r for r in core if r.startswith("pytest")], core
    helped = subprocess.run(
        [str(stagewise_bin / "stagewise"), "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0, helped.stderr
    assert "test" in helped.stdout


@pytest.mark.parametrize(
    ("requirements", "version"),
    [(PYTEST_7, "7.4.4"), (PYTEST_8, "8."), (PYTEST_9, "9.")],
    ids=["7", "8", "9"],
)
def test_runs_the_tests_in_the_projects_pytest(
    stagewise_bin: Path, make_project: ProjectFactory, requirements: tuple[str, ...], version: str
) -> None:
    python = project_venv(requirements)
    root = make_project({**TESTS, **FAILING, "stagewise.toml": project_file(python)})
    code, out, record = stagewise(stagewise_bin, root, "--unit")
    assert code == 1, out
    unit = tier(record, "unit")
    assert (unit["status"], unit["passed"], unit["failed"], unit["skipped"]) == ("failed", 2, 1, 1), out
    log = Path(unit["log"]).read_text(encoding="utf-8")
    assert f"pytest-{version}" in log, "the tests did not run in the project's interpreter"
    if requirements == PYTEST_7:  # and a clean suite passes: exit 0
        (root / "tests/unit/test_bad.py").unlink()
        code, out, record = stagewise(stagewise_bin, root, "--unit")
        assert code == 0, out
        assert (tier(record, "unit")["passed"], tier(record, "unit")["failed"]) == (2, 0)


def test_all_without_e2e_tests_does_not_ask_for_playwright(
    stagewise_bin: Path, make_project: ProjectFactory
) -> None:
    """Tools are checked only for tiers that will run tests; a missing folder is "no tests", never exit 4.

    Nor is a browser or a display needed (--no-headless without one is exit 4 when e2e tests exist).
    """
    root = make_project({**TESTS, "stagewise.toml": project_file(project_venv(PYTEST_9))})
    no_display = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    code, out, record = stagewise(stagewise_bin, root, "--all", "--no-headless", env=no_display)
    assert "pytest-playwright" not in out
    assert "display" not in out
    assert code == 0, out  # --all runs the tiers the project has: the absent ones are shown, not counted
    assert code == record["exit_code"], out
    assert tier(record, "unit")["status"] == "passed"
    assert [t["name"] for t in record["tiers"] if not t["counted"]] == ["integration", "api", "e2e"]
    asked = stagewise(stagewise_bin, root, "--unit", "--e2e", env=no_display)
    assert asked[0] == 5, "a tier asked for by name with no tests is still exit 5"
    assert {t["name"]: t["status"] for t in record["tiers"] if t["name"] != "unit"} == {
        "integration": "no-tests",
        "api": "no-tests",
        "e2e": "no-tests",
    }, out


def test_install_missing_keeps_the_projects_pytest(
    stagewise_bin: Path, make_project: ProjectFactory, tmp_path: Path
) -> None:
    """pytest-rerunfailures goes into a pytest-7.4.4 venv at a release that fits it; pytest stays 7.4.4."""
    # A copy of the cached venv (this test changes it): venvs keep working when copied with
    # their symlinks as long as they are run as `venv/bin/python -m ...`, which is all stagewise does.
    venv = tmp_path / "app-venv"
    shutil.copytree(project_venv(PYTEST_7).parent.parent, venv, symlinks=True)
    python = venv / "bin" / "python"
    root = make_project({**TESTS, "stagewise.toml": project_file(python)})
    code, out, _ = stagewise(stagewise_bin, root, "--unit", "--reruns", "1")
    assert code == 4, out
    assert f"not installed in {python}: run `{python} -m pip install 'pytest-rerunfailures>=11'`" in out
    code, out, record = stagewise(stagewise_bin, root, "--unit", "--reruns", "1", "--install-missing")
    assert code == 0, out
    assert f"installing pytest-rerunfailures>=11 into {python} (pip; the " in out
    assert (
        "packages already there are kept at their versions)\nstagewise: installed pytest-rerunfailures "
        in out
    )
    versions = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    )
    installed = {p["name"].lower(): p["version"] for p in json.loads(versions.stdout)}
    assert installed["pytest"] == "7.4.4"
    assert f"installed pytest-rerunfailures {installed['pytest-rerunfailures']} into {python}" in out
    assert tier(record, "unit")["passed"] == 2


def test_locust_and_bandit_are_looked_for_in_stagewises_interpreter(
    stagewise_bin: Path, make_project: ProjectFactory
) -> None:
    """Tools that import none of the app's code belong to stagewise's env: the hint names its python."""
    app = project_venv(PYTEST_7)
    root = make_project(
        {
            **TESTS,
            "tests/performance/locustfile.py": "from locust import HttpUser\n",
            "stagewise.toml": project_file(app),
        }
    )
    code, out, _ = stagewise(
        stagewise_bin, root, "--performance", "--security", "--host", "http://127.0.0.1:9"
    )
    assert code == 4, out
    own = stagewise_bin / "python"
    assert (
        f"locust is needed for the performance tier but is not installed in {own}: run `{own} -m pip install "
        in out
    )
    assert "bandit" in out.split(f"{own} -m pip install", 1)[1].split("`")[0]
    assert str(app) not in out


def test_pipx_install_plus_project_python(make_project: ProjectFactory) -> None:
    """The documented way: `pipx install stagewise`, then project.python; tools go in with `pipx inject`."""
    script = stagewise_pipx()
    root = make_project(
        {
            **TESTS,
            "tests/performance/locustfile.py": "from locust import HttpUser\n",
            "stagewise.toml": project_file(project_venv(PYTEST_8)),
        }
    )
    code, out, record = stagewise(script.parent, root, "--unit")
    assert code == 0, out
    assert (tier(record, "unit")["passed"], tier(record, "unit")["skipped"]) == (2, 1)
    code, out, _ = stagewise(script.parent, root, "--performance", "--host", "http://127.0.0.1:9")
    assert code == 4, out
    assert "locust is needed for the performance tier but is not installed in " in out
    assert "run `pipx inject stagewise locust` or pass --install-missing" in out


def test_a_too_old_pytest_cov_is_exit_4_naming_the_version(
    stagewise_bin: Path, make_project: ProjectFactory
) -> None:
    """pytest-cov 3 is older than the gate is tested with (and warns on pytest 7.2+): stagewise says so first."""
    python = project_venv(("pytest==7.4.4", "pytest-cov==3.0.0"))
    root = make_project({**TESTS, "stagewise.toml": project_file(python)})
    code, out, _ = stagewise(stagewise_bin, root, "--unit", "--coverage", "--install-missing")
    assert code == 4, out
    assert f"pytest-cov 3.0.0 is installed in {python} but --coverage needs pytest-cov>=4.0" in out
    assert "never changes a version already installed" in out
