"""``deploy ENV up | down | build | logs | status | test`` as core entry points.

(``test`` is :func:`run_stage_tests`: a function named ``test`` would be collected by pytest.)

Each takes a frozen request and returns a frozen result; ``up``, ``down`` and
``build`` hold the env lock, ``down`` (with or without ``--volumes``) on a
protected stage needs the caller's confirmation. Errors are typed (:mod:`stagewise.errors`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stagewise.backends.base import Backend, LineSink, ServiceStatus
from stagewise.backends.registry import make_backend
from stagewise.backends.steps import StepsBackend
from stagewise.errors import UsageError
from stagewise.operations.policy import Confirm, Target, confirm_protected, guarded, refuse
from stagewise.pipeline.reporter import Reporter
from stagewise.pipeline.results import RunResult
from stagewise.project.model import Project, StageConfig


def backend_for(target: Target) -> Backend:
    """The target stage's backend (its own, or ``target.backend``)."""
    return make_backend(target.project, target.config, target.env, target.backend)


@dataclass(frozen=True)
class UpRequest:
    target: Target
    detach: bool = False
    build: bool = False
    #: Leave what a failed ``up`` deployed in place, to look at it (the swarm backend's stack).
    keep: bool = False


@dataclass(frozen=True)
class DownRequest:
    target: Target
    volumes: bool = False


@dataclass(frozen=True)
class BuildRequest:
    target: Target
    service: str | None = None


@dataclass(frozen=True)
class LogsRequest:
    target: Target
    follow: bool = False
    service: str | None = None


@dataclass(frozen=True)
class StatusRequest:
    target: Target


@dataclass(frozen=True)
class ServicesResult:
    """What ``up`` and ``status`` return: the env, its backend and each service's state."""

    env: str
    backend: str
    services: tuple[ServiceStatus, ...]

    def record(self) -> dict[str, Any]:
        return {"env": self.env, "backend": self.backend, "services": [asdict(s) for s in self.services]}


@dataclass(frozen=True)
class DownResult:
    env: str
    backend: str
    stopped: tuple[str, ...]
    volumes: bool

    def record(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "backend": self.backend,
            "stopped": list(self.stopped),
            "volumes": self.volumes,
        }


@dataclass(frozen=True)
class BuildResult:
    env: str
    backend: str
    service: str | None

    def record(self) -> dict[str, Any]:
        return {"env": self.env, "backend": self.backend, "service": self.service}


def up(request: UpRequest, sink: LineSink, confirm: Confirm = refuse) -> ServicesResult:
    """Start the environment under its lock; with ``detach`` return once healthy.

    Before anything starts: a step that would run alembic unguarded on a
    protected stage is refused (:class:`~stagewise.errors.ConfigError`), and
    the migration steps ``up`` would run there need ``confirm`` (they then run
    through the guarded migrate: verified backup first, data put back on failure).
    """
    target = request.target
    backend = backend_for(target)
    if request.keep:
        from stagewise.backends.swarm import SwarmBackend

        if not isinstance(backend, SwarmBackend):
            raise UsageError(
                f"--keep is for the swarm backend (a stack that does not converge is left in place); "
                f"{target.stage} runs on {backend.name}"
            )
        backend.keep = True
    if isinstance(backend, StepsBackend):
        migrations = backend.migration_steps()
        if migrations and target.config.protected:
            confirm_protected(target, f"migrate its database ({', '.join(migrations)})", confirm)
            backend.confirm_migrations()
    with guarded(target, "up"):
        statuses = backend.up(request.detach, request.build, sink)
    return ServicesResult(target.stage, backend.name, tuple(statuses))


#: What ``down`` asks on a protected stage: stopping it is downtime, ``--volumes`` also loses data.
DOWN_QUESTION = "stop it (down: downtime until the next up)"
DOWN_VOLUMES_QUESTION = "delete its data (down --volumes)"


def down(request: DownRequest, confirm: Confirm = refuse) -> DownResult:
    """Stop the environment; on a protected stage only when ``confirm`` agrees (downtime, or data loss)."""
    # Here, not at the top: the release flow (front door, gate, HAProxy) is a tenth of a
    # second of imports that every data command (restore, backup, migrate) would pay.
    from stagewise.release.orchestrate import stop_release_parts

    target = request.target
    destructive = DOWN_VOLUMES_QUESTION if request.volumes else DOWN_QUESTION
    with guarded(target, "down", destructive=destructive, confirm=confirm):
        backend = backend_for(target)
        released = stop_release_parts(target)  # first: down --volumes removes their state files
        stopped = [*backend.down(request.volumes), *released]
    return DownResult(target.stage, backend.name, tuple(stopped), request.volumes)


def build(request: BuildRequest, sink: LineSink) -> BuildResult:
    """Build one service or all, under the env lock."""
    target = request.target
    with guarded(target, "build"):
        backend = backend_for(target)
        backend.build(request.service, sink)
    return BuildResult(target.stage, backend.name, request.service)


def logs(request: LogsRequest, sink: LineSink) -> None:
    """Write the logs to ``sink`` (read-only: no lock)."""
    backend_for(request.target).logs(request.follow, request.service, sink)


def status(request: StatusRequest) -> ServicesResult:
    """Each service's state (read-only: no lock)."""
    backend = backend_for(request.target)
    return ServicesResult(request.target.stage, backend.name, tuple(backend.status()))


@dataclass(frozen=True)
class StageTestRequest:
    """``deploy ENV test [SERVICE]``: the stage's tiers against the running environment."""

    __test__ = False  # not a pytest test class, despite the name

    target: Target
    service: str | None = None
    verbose: bool = False
    reports_dir: Path | None = None


def stage_test_tiers(project: Project, stage: StageConfig) -> tuple[str, ...]:
    """What ``deploy ENV test`` runs: ``stages.ENV.deploy_tiers``, else the stage's tiers that target it.

    An in-process tier (unit, integration: it imports the app and may write and
    delete through the stage's database URL, e.g. a conftest that empties a
    table at teardown) runs against a deployed stage only when the stage lists
    it in ``deploy_tiers``, which the loader refuses on a protected stage.
    """
    if stage.deploy_tiers is not None:
        return stage.deploy_tiers
    targeting = tuple(t for t in stage.tiers if t in project.tiers and project.tiers[t].needs_target)
    if not targeting:
        raise UsageError(
            f"stage {stage.name} runs no tier that targets the environment (its tiers: "
            f"{', '.join(stage.tiers) or 'none'}): `deploy {stage.name} test` never runs in-process "
            f"tiers against its data unless stages.{stage.name}.deploy_tiers lists them"
        )
    return targeting


def run_stage_tests(request: StageTestRequest, reporter: Reporter) -> RunResult:
    """Run the stage's tiers that target the environment (the pipeline applies the stage's
    policy: smoke only on prod); see :func:`stage_test_tiers`.

    It never starts the environment (``auto_start=False``), so it needs no lock.
    """
    from stagewise.pipeline.test_run import TestRequest, run_tests

    target = request.target
    markers = None
    if request.service:
        backend = backend_for(target)
        if request.service not in backend.services():
            raise UsageError(
                f"unknown service {request.service!r} for {target.stage}: "
                f"services are {', '.join(backend.services())}"
            )
        markers = request.service.replace("-", "_")
    run = TestRequest(
        tiers=stage_test_tiers(target.project, target.config),
        stage=target.stage,
        verbose=request.verbose,
        reports_dir=request.reports_dir,
        extra_markers=markers,
        auto_start=False,
    )
    return run_tests(target.project, run, reporter)
