"""``[check]``: the quick check's steps and commands, validated with the key path named."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ConfigError, ExitCode
from stagewise.project.check_config import CHECK_STEPS, CheckConfig
from stagewise.project.loader import load_project
from tests.conftest import ProjectFactory


def _load(make_project: ProjectFactory, text: str) -> CheckConfig:
    return load_project(make_project({"stagewise.toml": text})).check


def test_without_a_check_table_every_step_runs_and_none_is_required(make_project: ProjectFactory) -> None:
    config = _load(make_project, "[project]\nname = 'x'\n")
    assert config.steps == CHECK_STEPS == ("lint", "types", "unit", "bandit")
    assert config.lint is None
    assert config.types is None
    assert not any(config.required(step) for step in CHECK_STEPS)


def test_commands_are_argument_lists_and_make_their_step_required(make_project: ProjectFactory) -> None:
    config = _load(
        make_project,
        """
        [check]
        lint = ["ruff", "check", "src"]
        types = ["mypy", "--strict", "src"]
        """,
    )
    assert config.command("lint") == ("ruff", "check", "src")
    assert config.command("types") == ("mypy", "--strict", "src")
    assert config.required("lint")
    assert config.required("types")
    assert not config.required("unit")
    assert not config.required("bandit")


def test_listed_steps_run_in_their_order_and_are_all_required(make_project: ProjectFactory) -> None:
    config = _load(make_project, '[check]\nsteps = ["unit", "lint"]\n')
    assert config.steps == ("unit", "lint")
    assert config.required("unit")
    assert config.required("lint")


def test_the_check_table_in_pyproject_is_read_too(make_project: ProjectFactory) -> None:
    root = make_project({"pyproject.toml": '[tool.stagewise.check]\nsteps = ["lint"]\n'})
    assert load_project(root).check.steps == ("lint",)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('steps = ["lint", "nope"]', "check.steps", "unknown step 'nope' (steps: lint, types, unit, bandit)"),
        ('steps = ["lint", "lint"]', "check.steps", "lists 'lint' twice"),
        ("steps = []", "check.steps", "must list at least one step"),
        ('lint = "ruff check ."', "check.lint", "must be an argument list"),
        ("types = []", "check.types", "must be an argument list"),
        ('lint = ["ruff", ""]', "check.lint", "must be an argument list"),
        ('steps = ["unit"]\nlint = ["ruff"]', "check.lint", "'lint' is not one of check.steps (unit)"),
        ("bandit = ['bandit']", "check.bandit", "unknown key (allowed here: lint, steps, types)"),
    ],
)
def test_a_bad_check_table_is_a_config_error_naming_the_key(
    make_project: ProjectFactory, text: str, key: str, problem: str
) -> None:
    root = make_project({"stagewise.toml": f"[check]\n{text}\n"})
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    assert caught.value.exit_code == ExitCode.CONFIG
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(Path(root / "stagewise.toml")) in str(caught.value)
