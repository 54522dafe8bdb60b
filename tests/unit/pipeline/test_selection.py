"""The PATH|NODEID selection mapped to tiers, and what the plan makes of it.

Real directories in tmp_path and the real loader; nothing runs pytest here
(tests/integration/cli/test_selection.py does).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ExitCode, UsageError
from stagewise.pipeline.plan import plan_run
from stagewise.pipeline.selection import collection_paths, select_paths
from stagewise.project.loader import load_project
from stagewise.project.model import Project
from stagewise.tiers.request import TestRequest


def layered(root: Path, toml: str = "") -> Project:
    for name in ("tests/unit/test_a.py", "tests/integration/test_b.py", "tests/api/test_c.py", "other/x.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("def test_x():\n    pass\n")
    if toml:
        (root / "stagewise.toml").write_text(toml)
    return load_project(root)


def usage(project: Project, *items: str, flagged: tuple[str, ...] = (), base: Path | None = None) -> str:
    with pytest.raises(UsageError) as caught:
        select_paths(project, items, base or project.root, flagged)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_each_item_goes_to_the_tier_holding_it_in_pyramid_order(tmp_path: Path) -> None:
    project = layered(tmp_path)
    chosen = select_paths(
        project,
        ["tests/integration/test_b.py::test_x", "tests/unit/test_a.py", "tests/unit/test_a.py"],
        tmp_path,
        (),
    )
    assert list(chosen.items()) == [
        ("unit", ("tests/unit/test_a.py",)),
        ("integration", ("tests/integration/test_b.py::test_x",)),
    ]


def test_items_are_read_from_the_working_directory_and_given_from_the_root(tmp_path: Path) -> None:
    project = layered(tmp_path)
    chosen = select_paths(project, ["test_b.py::test_x[1-a::b]"], tmp_path / "tests" / "integration", ())
    assert chosen == {"integration": ("tests/integration/test_b.py::test_x[1-a::b]",)}


def test_the_most_specific_tier_path_wins(tmp_path: Path) -> None:
    project = layered(tmp_path, '[tiers.unit]\npaths = ["tests"]\n')
    assert select_paths(project, ["tests/integration/test_b.py"], tmp_path, ()) == {
        "integration": ("tests/integration/test_b.py",)
    }
    assert select_paths(project, ["tests/unit"], tmp_path, ()) == {"unit": ("tests/unit",)}
    # asked for with --unit, the unit tier holds it too (tests/ is its path)
    assert select_paths(project, ["tests/integration/test_b.py"], tmp_path, ("unit",)) == {
        "unit": ("tests/integration/test_b.py",)
    }


def test_a_folder_holding_tier_paths_selects_each_of_those_tiers(tmp_path: Path) -> None:
    project = layered(tmp_path)
    assert select_paths(project, ["tests"], tmp_path, ()) == {
        "unit": ("tests/unit",),
        "integration": ("tests/integration",),
        "api": ("tests/api",),
    }  # no e2e: tests/e2e does not exist


def test_bad_items_are_one_line_usage_errors_naming_the_paths(tmp_path: Path) -> None:
    project = layered(tmp_path)
    assert usage(project, "tests/unit/nope.py") == "tests/unit/nope.py does not exist"
    assert "tests/unit/nope.py does not exist (the file of node id" in usage(project, "tests/unit/nope.py::t")
    assert "must be a test file" in usage(project, "tests/unit::test_x")
    assert "a node id starts with its test file" in usage(project, "::test_x")
    assert usage(project, "other/x.py") == (
        "other/x.py is in no tier's paths: unit: tests/unit; integration: tests/integration; "
        "api: tests/api; e2e: tests/e2e"
    )
    outside = tmp_path.parent
    assert "is outside the project" in usage(project, str(outside))


def test_with_tier_flags_a_selection_outside_them_is_a_usage_error(tmp_path: Path) -> None:
    project = layered(tmp_path)
    assert usage(project, "tests/integration/test_b.py", flagged=("unit",)) == (
        "tests/integration/test_b.py is in the integration tier's paths, not in those of --unit "
        "(unit: tests/unit): add --integration or leave out the tier flags"
    )
    assert "is in no tier's paths; the tiers asked for hold: unit: tests/unit" in usage(
        project, "other/x.py", flagged=("unit",)
    )
    assert usage(project, "tests/unit", flagged=("unit", "integration")).startswith(
        "--integration selects none of the given paths (its paths: tests/integration)"
    )


def test_pytest_own_collection_holds_its_testpaths_or_the_root(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    (tmp_path / "script.py").write_text("")
    assert [p.as_posix() for p in collection_paths(tmp_path)] == ["."]
    project = load_project(tmp_path)
    assert project.tiers["unit"].paths == ()  # no project file, no tier folders
    assert select_paths(project, ["script.py"], tmp_path, ()) == {"unit": ("script.py",)}
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests nowhere\n")
    assert [p.as_posix() for p in collection_paths(tmp_path)] == ["tests"]
    assert "script.py is in no tier's paths: unit: tests;" in usage(project, "script.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = te*\n")
    assert [p.as_posix() for p in collection_paths(tmp_path)] == ["tests"]


def test_the_plan_narrows_each_tier_and_passes_the_pytest_args(tmp_path: Path) -> None:
    project = layered(tmp_path, '[tiers.integration]\nargs = ["-p", "no:cacheprovider"]\n')
    plan = plan_run(
        project,
        TestRequest(
            selection=("tests/integration/test_b.py::test_x", "tests/unit"),
            pytest_args=("-x", "-m", "not slow"),
            keyword="name",
        ),
    )
    assert [(t.name, t.paths) for t in plan.tiers] == [
        ("unit", ("tests/unit",)),
        ("integration", ("tests/integration/test_b.py::test_x",)),
    ]
    assert plan.tiers[0].args == ("-k", "name", "-x")
    assert plan.tiers[1].args == ("-p", "no:cacheprovider", "-k", "name", "-x")  # the tier's own first
    assert plan.tiers[1].markers == "not slow"
    assert plan.notes == ()


def test_passthrough_markers_narrow_a_protected_stage_never_widen_it(tmp_path: Path) -> None:
    project = layered(tmp_path)
    plan = plan_run(project, TestRequest(stage="prod", tiers=("api",), pytest_args=("-m", "not smoke")))
    assert plan.tiers[0].markers == "(smoke) and (not smoke)"
    assert plan.tiers[0].args == ()


def test_a_selection_outside_the_stage_is_refused_by_the_stage(tmp_path: Path) -> None:
    project = layered(tmp_path)
    with pytest.raises(UsageError, match="the unit tier does not run on stage staging"):
        plan_run(project, TestRequest(stage="staging", selection=("tests/unit",)))


def test_the_header_target_is_planned_only_with_a_tier_that_needs_one(tmp_path: Path) -> None:
    project = layered(tmp_path)
    assert not any(t.needs_target for t in plan_run(project, TestRequest()).tiers)
    assert any(t.needs_target for t in plan_run(project, TestRequest(selection=("tests/api",))).tiers)


def test_pytest_args_with_no_pytest_tier_planned_are_a_usage_error(tmp_path: Path) -> None:
    project = layered(tmp_path)
    with pytest.raises(UsageError, match=r"arguments for pytest \(-x\) reach the pytest tiers"):
        plan_run(project, TestRequest(tiers=("performance",), pytest_args=("-x",)))


def test_the_plan_says_when_unit_is_pytest_own_collection(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    plan = plan_run(load_project(tmp_path), TestRequest())
    assert plan.tiers[0].paths == ()
    assert plan.notes == (
        "the unit tier is pytest's own collection (testpaths tests in pyproject.toml): no stagewise.toml "
        "and none of tests/unit, tests/integration, tests/api, tests/e2e; `stagewise init` writes one "
        "for this layout",
    )


def test_missing_tier_folders_hint_where_to_set_the_paths(tmp_path: Path) -> None:
    (tmp_path / "tests" / "integration").mkdir(parents=True)
    no_file = plan_run(load_project(tmp_path), TestRequest())
    assert no_file.tiers[0].paths == ("tests/unit",)  # a layered project: no fallback
    assert "`stagewise init` writes a stagewise.toml" in no_file.tiers[0].missing_hint
    (tmp_path / "pyproject.toml").write_text('[tool.stagewise.project]\nname = "x"\n')
    in_pyproject = plan_run(load_project(tmp_path), TestRequest())
    assert in_pyproject.tiers[0].missing_hint == " (set tool.stagewise.tiers.unit.paths in pyproject.toml)"
