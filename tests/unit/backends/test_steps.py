"""Build and prestart steps: how they are declared, seen, streamed and bounded.

The runner tests start real child processes (``python -c``): streaming and the
timeout are properties of a real pipe and a real process group.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from stagewise.backends.base import Environment
from stagewise.backends.local import LocalBackend
from stagewise.backends.steps import run_step, runs_alembic
from stagewise.errors import ConfigError, DeployError
from stagewise.operations.deploy import stage_test_tiers
from stagewise.project.loader import load_project
from stagewise.project.model import Project
from stagewise.project.services import DEFAULT_STEP_TIMEOUT, Step


def project_with(tmp_path: Path, toml: str) -> Project:
    (tmp_path / "stagewise.toml").write_text(toml)
    return load_project(tmp_path)


def test_steps_are_argument_lists_or_tables(tmp_path: Path) -> None:
    project = project_with(
        tmp_path,
        """
[services.app]
command = ["app"]
build = [["make"], { command = ["pip", "wheel", "."], timeout = "5m" }]
prestart = [["seed"], { migrate = true }, { command = ["python", "-m", "app.migrate"], migrate = true, timeout = 90 }]
""",
    )
    app = project.services["app"]
    assert app.build == (
        Step(("make",), label="services.app.build[0]"),
        Step(("pip", "wheel", "."), timeout=300.0, label="services.app.build[1]"),
    )
    assert app.prestart == (
        Step(("seed",), timeout=DEFAULT_STEP_TIMEOUT, label="services.app.prestart[0]"),
        Step((), migrate=True, label="services.app.prestart[1]"),
        Step(("python", "-m", "app.migrate"), migrate=True, timeout=90.0, label="services.app.prestart[2]"),
    )
    assert app.prestart[1].describe() == "stagewise migrate (alembic upgrade head)"


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ("build = [{ migrate = true }]", "services.app.build[0].migrate: a migration is a prestart step"),
        ("prestart = [{ timeout = 5 }]", "services.app.prestart[0].command: is required (or migrate = true"),
        (
            'prestart = [{ command = "alembic upgrade head" }]',
            "services.app.prestart[0].command: must be an argument list",
        ),
        (
            'prestart = [{ command = ["x"], timeout = -1 }]',
            "services.app.prestart[0].timeout: must be seconds",
        ),
        ('prestart = [{ command = ["x"], retries = 3 }]', "services.app.prestart[0].retries: unknown key"),
        ("prestart = [[]]", "services.app.prestart[0]: must be an argument list"),
        ('prestart = "alembic upgrade head"', "services.app.prestart: must be a list of steps"),
    ],
)
def test_bad_steps_name_the_step(tmp_path: Path, steps: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        project_with(tmp_path, f'[services.app]\ncommand = ["app"]\n{steps}\n')
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("argv", "runs"),
    [
        (("alembic", "upgrade", "head"), True),
        ((".venv/bin/alembic", "upgrade", "head"), True),
        (("{python}", "-m", "alembic", "upgrade", "head"), True),
        (("python3", "-malembic", "upgrade", "head"), True),
        (("python", "-m", "alembic.config", "upgrade", "head"), True),
        (("{python}", "-m", "shop.migrate"), False),
        (("python", "scripts/alembic_notes.py"), False),
        (("bash", "scripts/prestart.sh"), False),  # invisible from argv: the project marks it
    ],
)
def test_runs_alembic_sees_alembic_in_the_argument_list(argv: tuple[str, ...], runs: bool) -> None:
    assert runs_alembic(argv) is runs


def protected_backend(tmp_path: Path, prestart: str) -> LocalBackend:
    project = project_with(
        tmp_path,
        f'[services.app]\ncommand = ["app"]\nprestart = [{prestart}]\n',
    )
    stage = project.stages["prod"]
    return LocalBackend.for_stage(
        project, stage, Environment("prod", project.name, project.root, {}, protected=True)
    )


def test_an_alembic_step_on_a_protected_stage_is_refused_with_the_line_to_write(tmp_path: Path) -> None:
    backend = protected_backend(tmp_path, '["{python}", "-m", "alembic", "upgrade", "head"]')
    with pytest.raises(ConfigError) as caught:
        backend.migration_steps()
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'stagewise.toml'}: services.app.prestart[0]: runs alembic")
    assert '{ command = ["{python}", "-m", "alembic", "upgrade", "head"], migrate = true }' in message
    assert "\n" not in message


def test_declared_migrations_are_listed_and_need_confirmation(tmp_path: Path) -> None:
    backend = protected_backend(
        tmp_path, '{ command = ["{python}", "-m", "alembic", "upgrade", "head"], migrate = true }'
    )
    assert backend.migration_steps() == ["services.app.prestart[0]"]
    assert not backend.migrations_confirmed
    backend.confirm_migrations()
    assert backend.migrations_confirmed


def test_python_placeholder_is_the_projects_interpreter(tmp_path: Path) -> None:
    project = project_with(
        tmp_path,
        '[project]\npython = ".venv/bin/python"\n[services.app]\ncommand = ["{python}", "-m", "app"]\n',
    )
    backend = LocalBackend.for_stage(
        project, project.stages["dev"], Environment("dev", project.name, project.root, {})
    )
    assert backend._fill("{python}", project.services["app"]) == str(tmp_path / ".venv/bin/python")


def test_a_steps_output_reaches_the_sink_while_it_runs(tmp_path: Path) -> None:
    marker = tmp_path / "second-half-started"
    script = (
        "import pathlib, sys, time\n"
        "print('first', flush=True)\n"
        "time.sleep(1.5)\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
        "print('second', flush=True)\n"
    )
    seen: list[tuple[str, bool]] = []

    def sink(line: str) -> None:
        seen.append((line, marker.exists()))

    run_step(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=dict(os.environ),
        sink=sink,
        prefix="app prestart",
        label="services.app.prestart[0]",
        timeout=30,
    )
    assert seen == [("app prestart | first", False), ("app prestart | second", True)]


def test_a_step_past_its_timeout_is_stopped_and_says_so(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (
        "import os, pathlib, time\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))\n"
        "print('retrying the database', flush=True)\n"
        "time.sleep(120)\n"
    )
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(DeployError) as caught:
        run_step(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env=dict(os.environ),
            sink=lines.append,
            prefix="app prestart",
            label="services.app.prestart[0]",
            timeout=1.5,
        )
    assert time.monotonic() - started < 15
    assert "services.app.prestart[0] ran longer than its timeout of 1.5 s and was stopped" in str(
        caught.value
    )
    assert "app prestart | retrying the database" in lines
    assert not Path(f"/proc/{pid_file.read_text()}").exists()


def test_a_failing_step_is_one_line_naming_the_cause(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "print('connecting', flush=True)\n"
        "sys.stderr.write('sqlalchemy.exc.OperationalError: database \"rw_dev\" does not exist\\n')\n"
        "sys.stderr.write('(Background on this error at: https://sqlalche.me/e/14/e3q8)\\n')\n"
        "sys.exit(3)\n"
    )
    with pytest.raises(DeployError) as caught:
        run_step(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env=dict(os.environ),
            sink=lambda line: None,
            prefix="app prestart",
            label="services.app.prestart[0]",
            timeout=30,
        )
    message = str(caught.value)
    assert message.startswith("services.app.prestart[0] failed (exit 3): ")
    assert message.endswith('sqlalchemy.exc.OperationalError: database "rw_dev" does not exist')


def test_a_missing_program_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match=r"services.app.build\[0\] cannot run: no-such-tool-xyz not found"):
        run_step(
            ["no-such-tool-xyz"],
            cwd=tmp_path,
            env=dict(os.environ),
            sink=lambda line: None,
            prefix="app build",
            label="services.app.build[0]",
            timeout=5,
        )


STAGES = """
[stages.dev]
tiers = ["unit", "integration", "api"]
"""


def test_deploy_test_runs_the_tiers_that_target_the_stage(tmp_path: Path) -> None:
    project = project_with(tmp_path, STAGES)
    assert stage_test_tiers(project, project.stages["dev"]) == ("api",)
    assert stage_test_tiers(project, project.stages["prod"]) == ("api", "e2e")
    assert stage_test_tiers(project, project.stages["staging"]) == ("api", "e2e", "performance")


def test_a_stage_may_list_an_in_process_tier_for_deploy_test(tmp_path: Path) -> None:
    project = project_with(tmp_path, STAGES + 'deploy_tiers = ["integration", "api"]\n')
    assert stage_test_tiers(project, project.stages["dev"]) == ("integration", "api")


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        (
            '[stages.prod]\ndeploy_tiers = ["integration"]\ntiers = ["integration", "api"]\n',
            "stages.prod.deploy_tiers: integration runs in-process against the stage's data, never on a protected stage",
        ),
        (STAGES + 'deploy_tiers = ["e2e"]\n', "stages.dev.deploy_tiers: e2e is not one of the stage's tiers"),
        (STAGES + 'deploy_tiers = ["smoke"]\n', "stages.dev.deploy_tiers: unknown tier 'smoke'"),
    ],
)
def test_deploy_tiers_are_checked_when_the_file_is_read(tmp_path: Path, toml: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        project_with(tmp_path, toml)
    assert problem in str(caught.value)


def test_up_asks_before_a_migration_on_a_protected_stage_and_a_no_starts_nothing(tmp_path: Path) -> None:
    from stagewise.errors import UsageError
    from stagewise.operations.deploy import UpRequest, up
    from stagewise.operations.policy import Target

    project = project_with(
        tmp_path,
        '[services.app]\ncommand = ["app-that-does-not-exist"]\nprestart = [{ migrate = true }]\n',
    )
    asked: list[tuple[str, str]] = []

    def no(env: str, what: str) -> bool:
        asked.append((env, what))
        return False

    with pytest.raises(UsageError, match="not confirmed: nothing done on prod"):
        up(UpRequest(Target(project, "prod", {}), detach=True), lambda line: None, no)
    assert asked == [("prod", "migrate its database (services.app.prestart[0])")]
    assert not (tmp_path / ".stagewise" / "prod").exists()
    assert not (tmp_path / ".stagewise" / "locks").exists(), "refused before the env lock was taken"


def test_a_stage_with_no_tier_that_targets_it_is_a_usage_error(tmp_path: Path) -> None:
    from stagewise.errors import UsageError

    project = project_with(tmp_path, '[stages.dev]\ntiers = ["unit", "integration"]\n')
    with pytest.raises(UsageError, match="stage dev runs no tier that targets the environment"):
        stage_test_tiers(project, project.stages["dev"])
