"""Planning a security run: an on-request tier, guarded on protected stages before anything runs."""

from __future__ import annotations

import pytest

from stagewise.errors import ConfigError, UsageError
from stagewise.pipeline.test_run import TestRequest, plan_run
from stagewise.project.loader import load_project
from tests.conftest import ProjectFactory


def test_security_runs_only_when_asked_for(make_project: ProjectFactory) -> None:
    project = load_project(make_project({}))
    assert "security" not in [t.name for t in plan_run(project, TestRequest(run_all=True)).tiers]
    plan = plan_run(project, TestRequest(tiers=("security",), host="http://127.0.0.1:9"))
    assert [t.name for t in plan.tiers] == ["security"]
    assert plan.tiers[0].paths == ("tests/security",)
    assert plan.security_checks == (
        "bandit",
        "dependencies",
        "fuzz",
        "passive",
    )  # no ZAP daemon: no client needed


def test_a_protected_stage_needs_yes_whoever_asked(make_project: ProjectFactory) -> None:
    project = load_project(make_project({"stagewise.toml": '[stages.prod]\ntiers = ["api", "security"]\n'}))
    with pytest.raises(UsageError, match="prod is protected: refusing to run a security scan against it"):
        plan_run(project, TestRequest(tiers=("security",), stage="prod"))
    with pytest.raises(UsageError, match="without --yes"):
        plan_run(project, TestRequest(run_all=True, stage="prod"))  # pulled in by the stage's own list
    assert plan_run(project, TestRequest(tiers=("security",), stage="prod", yes=True, active=True)).tiers


def test_a_broken_allowlist_stops_the_plan(make_project: ProjectFactory) -> None:
    root = make_project({".stagewise/security-allowlist.toml": '[[accept]]\nid = "B602"\nreason = "r"\n'})
    with pytest.raises(ConfigError, match=r"accept\[0\]\.expires: is required"):
        plan_run(load_project(root), TestRequest(tiers=("security",)))
