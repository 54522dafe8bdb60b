"""Where the performance tier may run: by name on unprotected stages, never pulled in by --all."""

from __future__ import annotations

import pytest

from stagewise.errors import UsageError
from stagewise.project.loader import load_project
from stagewise.project.policy import select_tiers
from tests.conftest import ProjectFactory


def test_all_keeps_meaning_the_pytest_pyramid(make_project: ProjectFactory) -> None:
    project = load_project(make_project({"README.md": "x"}))
    test = project.stages["test"]
    assert select_tiers(project, test, (), True, False) == ("unit", "integration", "api", "e2e")
    assert select_tiers(project, test, ("performance",), False, False) == ("performance",)
    assert select_tiers(project, test, ("api", "performance"), False, False) == ("api", "performance")


def test_staging_runs_performance_by_default_and_prod_never_unless_configured(
    make_project: ProjectFactory,
) -> None:
    project = load_project(make_project({"README.md": "x"}))
    assert select_tiers(project, project.stages["staging"], (), False, True) == ("api", "e2e", "performance")
    prod = project.stages["prod"]
    assert "performance" not in select_tiers(project, prod, (), True, True)
    with pytest.raises(
        UsageError, match="the performance tier does not run on stage prod \\(a protected stage\\)"
    ):
        select_tiers(project, prod, ("performance",), False, True)


def test_a_protected_stage_that_lists_performance_runs_it(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": '[stages.prod]\ntiers = ["api", "performance"]\n'})
    project = load_project(root)
    assert select_tiers(project, project.stages["prod"], ("performance",), False, True) == ("performance",)


def test_a_new_stage_does_not_pull_in_performance(make_project: ProjectFactory) -> None:
    project = load_project(make_project({"stagewise.toml": "[stages.qa]\nbase_url = 'http://127.0.0.1:9'\n"}))
    assert project.stages["qa"].tiers == ("unit", "integration", "api", "e2e")


def test_all_with_performance_named_is_one_run_of_both(make_project: ProjectFactory) -> None:
    project = load_project(make_project({"README.md": "x"}))
    test = project.stages["test"]
    assert select_tiers(project, test, ("performance",), True, True) == (
        "unit",
        "integration",
        "api",
        "e2e",
        "performance",
    )
    assert select_tiers(project, test, ("api",), True, True) == ("unit", "integration", "api", "e2e")
    with pytest.raises(UsageError, match="does not run on stage prod"):
        select_tiers(project, project.stages["prod"], ("performance",), True, True)
