"""Planning: --resilience is on request, --all pulls it in only on stages that list it."""

from __future__ import annotations

import pytest

from stagewise.errors import UsageError
from stagewise.pipeline.test_run import TestRequest, plan_run
from stagewise.project.loader import load_project
from tests.conftest import ProjectFactory

PROJECT = """
[stages.staging]
tiers = ["api", "resilience"]
"""


def test_resilience_runs_when_asked_for_and_with_all_on_a_stage_that_lists_it(
    make_project: ProjectFactory,
) -> None:
    project = load_project(make_project({"stagewise.toml": PROJECT}))
    assert [t.name for t in plan_run(project, TestRequest(tiers=("resilience",))).tiers] == ["resilience"]
    staging = plan_run(project, TestRequest(run_all=True, stage="staging"))
    assert [t.name for t in staging.tiers] == ["api", "resilience"]
    default = plan_run(project, TestRequest(run_all=True, stage="test"))
    assert "resilience" not in [t.name for t in default.tiers]


def test_an_unknown_resilience_scenario_is_refused_before_anything_runs(make_project: ProjectFactory) -> None:
    project = load_project(make_project({"stagewise.toml": PROJECT}))
    with pytest.raises(UsageError, match="unknown resilience scenario 'meteor': scenarios are default, "):
        plan_run(project, TestRequest(tiers=("resilience",), resilience_scenario="meteor"))
