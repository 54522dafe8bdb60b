"""What a CI job installs: the project (its test extra or requirements) and the check's tools."""

from __future__ import annotations

from pathlib import Path

from stagewise.ci.install import check_install, project_install, tier_install
from stagewise.project.loader import load_project
from tests.conftest import ProjectFactory

PYPROJECT = '[project]\nname = "app"\nversion = "0"\n[project.optional-dependencies]\n{extras}\n'


def test_a_package_is_installed_with_its_test_extra(make_project: ProjectFactory) -> None:
    root = make_project({"pyproject.toml": PYPROJECT.format(extras='docs = ["x"]\ntests = ["pytest"]')})
    assert project_install(root) == ("-e", ".[tests]")


def test_a_package_without_a_test_extra_is_installed_alone(make_project: ProjectFactory) -> None:
    root = make_project({"pyproject.toml": PYPROJECT.format(extras='docs = ["x"]')})
    assert project_install(root) == ("-e", ".")


def test_a_project_that_is_no_package_installs_its_requirements(make_project: ProjectFactory) -> None:
    root = make_project({"requirements.txt": "fastapi\n", "requirements-dev.txt": "pytest\n"})
    assert project_install(root) == ("-r", "requirements.txt", "-r", "requirements-dev.txt")


def test_each_tier_gets_the_stagewise_extras_it_needs() -> None:
    assert tier_install("unit") == "stagewise[coverage]"
    assert tier_install("e2e") == "stagewise[coverage,e2e]"
    assert tier_install("performance") == "stagewise[perf]"
    assert tier_install("security") == "stagewise[security]"


def test_the_check_installs_the_tools_its_steps_look_for(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": "", "mypy.ini": "[mypy]\nstrict = True\n"})
    assert check_install(load_project(Path(root))) == ("stagewise[coverage]", "ruff", "mypy", "bandit")


def test_the_check_follows_flake8_configured_commands_and_its_steps(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": '[check]\nsteps = ["lint", "unit"]\n', ".flake8": "[flake8]\n"})
    assert check_install(load_project(Path(root))) == ("stagewise[coverage]", "flake8")
    other = make_project({"stagewise.toml": '[check]\ntypes = ["mypy", "src"]\nlint = ["./lint.sh"]\n'})
    assert check_install(load_project(Path(other))) == ("stagewise[coverage]", "mypy", "bandit")
