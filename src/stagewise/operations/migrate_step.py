"""A prestart step declared ``migrate = true``, run through the guarded migrate.

With no ``command`` it is stagewise's own migrate
(:func:`stagewise.dataops.operations.migrate`: alembic upgrade head, a
verified backup first on a protected stage, the data put back on failure).
With a ``command`` (the project's own migration runner, e.g.
``python -m shop.migrate``) the same guard wraps that command: the env lock,
on a protected stage a verified backup first, and the data put back from it
if the command fails, outlives its timeout or is interrupted.

The env lock is taken here unless this process already holds it (``deploy
ENV up`` does); confirmation on a protected stage is the caller's, asked
before anything starts (:func:`stagewise.operations.deploy.up`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from stagewise.backends.steps import run_step
from stagewise.dataops import operations
from stagewise.dataops.lock import env_lock, holds, project_locks
from stagewise.project.model import Project, StageConfig
from stagewise.project.services import Step

Sink = Callable[[str], None]


def run_migration_step(
    project: Project,
    stage: StageConfig,
    env: Mapping[str, str],
    step: Step,
    *,
    cwd: Path,
    sink: Sink,
    prefix: str,
) -> None:
    """Run ``step`` (a migration) for ``stage`` under the guard; raises typed errors only."""

    def say(line: str) -> None:
        sink(f"{prefix} | {line}")

    say(f"{step.label} is a migration: running it through stagewise's guarded migrate")
    data = operations.data_env(project, stage, env)
    with _env_lock_held(project, stage, step):
        if not step.command:
            operations.migrate(data, say)
            return
        # The command gets what alembic would: the service env with the URL stagewise backs up.
        _guarded_command(data, step, cwd=cwd, env=data.alembic.env, sink=sink, prefix=prefix, say=say)


@contextlib.contextmanager
def _env_lock_held(project: Project, stage: StageConfig, step: Step) -> Iterator[None]:
    locks = project_locks(project.root)
    if holds(locks, stage.name):
        yield
        return
    with env_lock(locks, stage.name, f"stagewise deploy {stage.name} up ({step.label})"):
        yield


def _guarded_command(
    data: operations.DataEnv,
    step: Step,
    *,
    cwd: Path,
    env: Mapping[str, str],
    sink: Sink,
    prefix: str,
    say: Sink,
) -> None:
    operations.guarded_migration(
        data,
        say,
        step.describe(),
        lambda: run_step(
            step.command,
            cwd=cwd,
            env=env,
            sink=sink,
            prefix=prefix,
            label=step.label,
            timeout=step.timeout,
        ),
    )
