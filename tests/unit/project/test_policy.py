"""Stage policy: which tiers run where, and the smoke-only rule on prod."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ExitCode, UsageError
from stagewise.project.loader import load_project
from stagewise.project.model import Project
from stagewise.project.policy import combine_markers, select_tiers, stage_named


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return load_project(tmp_path)


def test_no_flags_and_no_stage_runs_unit(project: Project) -> None:
    assert select_tiers(project, stage_named(project, None), (), False, False) == ("unit",)


def test_a_named_stage_runs_its_own_tiers(project: Project) -> None:
    assert select_tiers(project, stage_named(project, "staging"), (), False, True) == (
        "api",
        "e2e",
        "performance",
    )
    assert select_tiers(project, stage_named(project, "test"), (), False, True) == (
        "unit",
        "integration",
        "api",
        "e2e",
    )


def test_all_is_pyramid_order_whatever_the_flag_order(project: Project) -> None:
    stage = stage_named(project, None)
    assert select_tiers(project, stage, ("e2e", "unit"), False, False) == ("unit", "e2e")
    assert select_tiers(project, stage, (), True, False) == ("unit", "integration", "api", "e2e")


def test_prod_refuses_unit_tests(project: Project) -> None:
    with pytest.raises(UsageError, match="protected") as caught:
        select_tiers(project, stage_named(project, "prod"), ("unit",), False, True)
    assert caught.value.exit_code == ExitCode.USAGE


def test_unknown_stage_lists_the_valid_ones(project: Project) -> None:
    with pytest.raises(UsageError, match="valid stages are dev, test, staging, prod"):
        stage_named(project, "invalid_stage")


def test_markers_are_anded_so_prod_cannot_be_widened() -> None:
    assert combine_markers(None, "smoke") == "smoke"
    assert combine_markers("api or slow", "smoke") == "(api or slow) and (smoke)"
    assert combine_markers(None, None) is None
