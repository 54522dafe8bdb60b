"""``stagewise check`` on real throwaway projects in real venvs.

Each project has its own venv (``project.python``) holding its pytest and,
depending on the test, ruff, flake8 and mypy; bandit is stagewise's own
(its ``security`` extra, installed in this checkout's venv). Every run is the
real CLI as a user types it, and every verdict is read back from what a user
sees: the exit code, the terminal lines, summary.json (checked against its
schema) and the page.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema

from stagewise.schemas import schema_path
from tests import pyvenvs
from tests.conftest import ProjectFactory
from tests.helpers import run_cli

#: The project's own tools: pytest, ruff and mypy (the versions this repo's own dev extra uses).
WITH_RUFF_MYPY = ("pytest>=8.3,<9", "ruff>=0.6", "mypy>=1.10")
#: flake8 instead of ruff: the lint step falls back to it.
WITH_FLAKE8 = ("pytest>=8.3,<9", "flake8>=7")
#: pytest alone: no linter, no type checker.
PYTEST_ONLY = pyvenvs.PYTEST_8

CORE = '''\
"""A tiny module that is clean for ruff, flake8, mypy --strict and bandit."""


def double(number: int) -> int:
    """Twice ``number``."""
    return number * 2
'''
TEST_CORE = """\
from app.core import double


def test_double() -> None:
    assert double(2) == 4
"""
SUMMARY_SCHEMA = json.loads(schema_path("summary").read_text(encoding="utf-8"))


def _project(make_project: ProjectFactory, python: Path, *, check: str = "", **files: str) -> Path:
    return make_project(
        {
            "stagewise.toml": f'[project]\npython = "{python}"\nsource = ["app"]\n\n'
            f'[security.bandit]\npaths = ["app"]\n\n{check}',
            "pyproject.toml": "[tool.mypy]\nstrict = true\n",
            "app/__init__.py": "",
            "app/core.py": CORE,
            "tests/unit/test_core.py": TEST_CORE,
            "tests/__init__.py": "",
            "tests/unit/__init__.py": "",
            **{name.replace("__", "/").replace("_py", ".py"): text for name, text in files.items()},
        }
    )


def _check(root: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = run_cli("check", "--json", *args, cwd=root, timeout=300)
    record: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
    if record:
        jsonschema.validate(record, SUMMARY_SCHEMA)
    return done, record


def _steps(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tier["name"]: tier for tier in record["tiers"]}


def test_a_clean_project_passes_every_step_in_one_record_and_page(make_project: ProjectFactory) -> None:
    root = _project(make_project, pyvenvs.project_venv(WITH_RUFF_MYPY))
    done, record = _check(root)
    assert done.returncode == 0, done.stderr
    assert record["command"] == "check"
    assert record["verdict"] == "passed"
    steps = _steps(record)
    assert list(steps) == ["lint", "types", "unit", "bandit"]
    assert all(step["status"] == "passed" for step in steps.values()), steps
    assert steps["lint"]["check"]["tool"] == "ruff"
    assert steps["types"]["check"]["tool"] == "mypy"
    assert steps["unit"]["passed"] == 1
    assert steps["bandit"]["security"]["checks"][0]["name"] == "bandit"
    python = str(pyvenvs.project_venv(WITH_RUFF_MYPY))
    assert steps["lint"]["check"]["command"][:3] == [python, "-m", "ruff"]  # the project's own ruff
    page = (Path(record["run_dir"]) / "index.html").read_text(encoding="utf-8")
    for name in steps:
        assert f">{name}<" in page
    assert "lint (ruff), types (mypy), unit (pytest), bandit (bandit)" in done.stderr


def test_a_lint_error_fails_naming_the_file_and_the_other_steps_still_run(
    make_project: ProjectFactory,
) -> None:
    root = _project(make_project, pyvenvs.project_venv(WITH_RUFF_MYPY), app__extra_py="import os\n")
    done, record = _check(root)
    assert done.returncode == 1, done.stderr
    steps = _steps(record)
    assert steps["lint"]["status"] == "failed"
    assert [f["name"] for f in steps["lint"]["failed_tests"]] == ["app/extra.py:1:8"]
    assert "F401" in steps["lint"]["failed_tests"][0]["message"]
    assert "app/extra.py:1:8" in steps["lint"]["message"]
    assert "app/extra.py:1:8" in done.stderr  # the terminal names it too
    assert steps["unit"]["status"] == "passed"
    assert steps["bandit"]["status"] == "passed"


def test_a_type_error_fails_the_types_step(make_project: ProjectFactory) -> None:
    wrong = '"""Wrong on purpose."""\n\n\ndef name() -> int:\n    """Not an int."""\n    return "x"\n'
    root = _project(make_project, pyvenvs.project_venv(WITH_RUFF_MYPY), app__wrong_py=wrong)
    done, record = _check(root)
    assert done.returncode == 1, done.stderr
    types = _steps(record)["types"]
    assert types["status"] == "failed"
    assert types["failed_tests"][0]["name"] == "app/wrong.py:6"
    assert "Incompatible return value type" in types["failed_tests"][0]["message"]
    assert _steps(record)["lint"]["status"] == "passed"


def test_a_bandit_finding_fails_the_bandit_step(make_project: ProjectFactory) -> None:
    shell = (
        '"""Runs a shell string on purpose (bandit B602)."""\n\nimport subprocess\n\n\n'
        "def run(command: str) -> int:\n"
        '    """Run it."""\n'
        "    return subprocess.call(command, shell=True)\n"
    )
    root = _project(make_project, pyvenvs.project_venv(WITH_RUFF_MYPY), app__shell_py=shell)
    done, record = _check(root)
    assert done.returncode == 1, done.stderr
    bandit = _steps(record)["bandit"]
    assert bandit["status"] == "failed"
    assert any(f["name"].startswith("B602 app/shell.py:") for f in bandit["failed_tests"]), bandit
    assert (Path(record["run_dir"]) / "bandit" / "findings.json").is_file()
    assert {s["name"]: s["status"] for s in record["tiers"]}["lint"] == "passed"


def test_flake8_lints_when_ruff_is_not_installed(make_project: ProjectFactory) -> None:
    root = _project(make_project, pyvenvs.project_venv(WITH_FLAKE8), app__extra_py="import os\n")
    done, record = _check(root)
    lint = _steps(record)["lint"]
    assert lint["check"]["tool"] == "flake8"
    assert lint["status"] == "failed"
    assert lint["failed_tests"][0]["name"] == "app/extra.py:1:1"
    assert done.returncode == 1


def test_a_missing_tool_is_not_run_with_its_reason_never_a_pass(make_project: ProjectFactory) -> None:
    python = pyvenvs.project_venv(PYTEST_ONLY)
    root = _project(make_project, python)
    done, record = _check(root)
    steps = _steps(record)
    assert steps["lint"]["status"] == "not-run"
    assert f"neither ruff nor flake8 is installed in {python}" in steps["lint"]["message"]
    assert "pip install ruff" in steps["lint"]["message"]
    # mypy is configured ([tool.mypy]) but not installed: the project asked for it, so exit 4
    assert steps["types"]["status"] == "not-run"
    assert "mypy is configured but not installed" in steps["types"]["message"]
    assert steps["unit"]["status"] == "passed"
    assert done.returncode == 4
    assert "lint: not run: neither ruff nor flake8" in done.stdout + done.stderr


def test_an_optional_tool_missing_is_shown_but_does_not_fail(make_project: ProjectFactory) -> None:
    root = _project(make_project, pyvenvs.project_venv(PYTEST_ONLY))
    (root / "pyproject.toml").write_text("", encoding="utf-8")  # no [tool.mypy]: types not configured
    done, record = _check(root)
    steps = _steps(record)
    assert steps["lint"]["status"] == "not-run"
    assert steps["lint"]["counted"] is False
    assert "mypy is not configured" in steps["types"]["message"]
    assert done.returncode == 0, done.stderr
    assert "not run: neither ruff nor flake8" in done.stderr


def test_a_listed_step_whose_tool_is_missing_fails_with_exit_4(make_project: ProjectFactory) -> None:
    root = _project(
        make_project, pyvenvs.project_venv(PYTEST_ONLY), check='[check]\nsteps = ["lint", "unit"]\n'
    )
    done, record = _check(root)
    assert done.returncode == 4
    assert [t["name"] for t in record["tiers"]] == ["lint", "unit"]
    assert record["verdict"] == "incomplete"


def test_configured_commands_override_the_detected_tools(make_project: ProjectFactory) -> None:
    python = pyvenvs.project_venv(WITH_RUFF_MYPY)
    lint_script = "import sys\nprint('app/core.py:3:1: X001 the house rule says no')\nsys.exit(1)\n"
    root = _project(
        make_project,
        python,
        check='[check]\nlint = ["python", "tools/house_lint.py"]\ntypes = ["python", "-c", "print(42)"]\n',
        tools__house_lint_py=lint_script,
    )
    done, record = _check(root)
    steps = _steps(record)
    # "python" is the project venv's, found in its bin folder before PATH
    assert steps["lint"]["check"]["command"] == [str(Path(python).parent / "python"), "tools/house_lint.py"]
    assert steps["lint"]["status"] == "failed"
    assert steps["lint"]["failed_tests"][0] == {
        "name": "app/core.py:3:1",
        "kind": "lint",
        "message": "X001 the house rule says no",
    }
    assert steps["types"]["status"] == "passed"
    assert steps["types"]["check"]["command"][1:] == ["-c", "print(42)"]
    assert done.returncode == 1


def test_a_configured_program_that_is_not_there_is_not_run_and_exit_4(make_project: ProjectFactory) -> None:
    root = _project(
        make_project,
        pyvenvs.project_venv(PYTEST_ONLY),
        check='[check]\nlint = ["no-such-linter-x1", "."]\nsteps = ["lint", "unit"]\n',
    )
    done, record = _check(root)
    lint = _steps(record)["lint"]
    assert lint["status"] == "not-run"
    assert "no-such-linter-x1 (check.lint) is not found in" in lint["message"]
    assert done.returncode == 4


def test_bad_check_config_is_one_line_and_exit_3(make_project: ProjectFactory) -> None:
    root = _project(
        make_project, pyvenvs.project_venv(PYTEST_ONLY), check='[check]\nsteps = ["lint", "nope"]\n'
    )
    done = run_cli("check", cwd=root, timeout=120)
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "check.steps: unknown step 'nope'" in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_nothing_that_can_run_is_an_error_not_a_pass(make_project: ProjectFactory) -> None:
    root = _project(make_project, pyvenvs.project_venv(PYTEST_ONLY), check='[check]\nsteps = ["lint"]\n')
    done = run_cli("check", cwd=root, timeout=120)
    assert done.returncode == 4
    assert "stagewise check has nothing it can run" in done.stderr
    assert "neither ruff nor flake8 is installed" in done.stderr
    assert not (root / "reports").exists()  # refused before any run folder was made


def test_an_interrupt_stops_every_step_child_and_still_writes_the_record(
    make_project: ProjectFactory,
) -> None:
    import signal
    import sys
    import time

    from tests.helpers import cli_env

    root = _project(
        make_project,
        pyvenvs.project_venv(PYTEST_ONLY),
        check='[check]\nsteps = ["lint", "unit"]\nlint = ["python", "-c", "import time; time.sleep(120)"]\n',
        tests__unit__test_slow_py="import time\n\n\ndef test_slow() -> None:\n    time.sleep(120)\n",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "check"],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_step_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # both steps' children started (each in a worker thread)
        children = _step_children(process.pid)
        assert len(children) == 2, children
        process.send_signal(signal.SIGTERM)  # what a CI runner sends; the CLI treats it as Ctrl+C
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, output
    assert "stagewise: interrupted" in output
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    [summary] = (root / "reports").glob("2*/summary.json")
    assert json.loads(summary.read_text(encoding="utf-8"))["verdict"] == "interrupted"


def _step_children(parent: int) -> list[int]:
    """The lint command's and pytest's pids among ``parent``'s children (not git's, not the probe's)."""
    from stagewise.check.children import child_pids

    found = []
    for pid in child_pids(parent):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"time.sleep(120)" in command or b" -m pytest " in command:
            found.append(pid)
    return found
