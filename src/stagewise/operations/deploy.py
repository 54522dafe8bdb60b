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
from stagewise.errors import UsageError
from stagewise.operations.policy import Confirm, Target, guarded, refuse
from stagewise.pipeline.reporter import Reporter
from stagewise.pipeline.results import RunResult


def backend_for(target: Target) -> Backend:
    """The target stage's backend (its own, or ``target.backend``)."""
    return make_backend(target.project, target.config, target.env, target.backend)


@dataclass(frozen=True)
class UpRequest:
    target: Target
    detach: bool = False
    build: bool = False


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


def up(request: UpRequest, sink: LineSink) -> ServicesResult:
    """Start the environment under its lock; with ``detach`` return once healthy."""
    target = request.target
    with guarded(target, "up"):
        backend = backend_for(target)
        statuses = backend.up(request.detach, request.build, sink)
    return ServicesResult(target.stage, backend.name, tuple(statuses))


#: What ``down`` asks on a protected stage: stopping it is downtime, ``--volumes`` also loses data.
DOWN_QUESTION = "stop it (down: downtime until the next up)"
DOWN_VOLUMES_QUESTION = "delete its data (down --volumes)"


def down(request: DownRequest, confirm: Confirm = refuse) -> DownResult:
    """Stop the environment; on a protected stage only when ``confirm`` agrees (downtime, or data loss)."""
    target = request.target
    destructive = DOWN_VOLUMES_QUESTION if request.volumes else DOWN_QUESTION
    with guarded(target, "down", destructive=destructive, confirm=confirm):
        backend = backend_for(target)
        stopped = backend.down(request.volumes)
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


def run_stage_tests(request: StageTestRequest, reporter: Reporter) -> RunResult:
    """Run the stage's tiers (the pipeline applies the stage's policy: smoke only on prod).

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
        stage=target.stage,
        verbose=request.verbose,
        reports_dir=request.reports_dir,
        extra_markers=markers,
        auto_start=False,
    )
    return run_tests(target.project, run, reporter)
