"""Pick a stage's backend by name from :data:`stagewise.plugins.backends.BACKENDS`.

Errors list the valid names; adding a backend is one registry entry and one
module whose class has ``for_stage(project, stage, environment)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

from stagewise.backends.base import Backend, Environment
from stagewise.errors import UsageError
from stagewise.plugins.backends import BACKENDS
from stagewise.project.model import Project, StageConfig
from stagewise.registry import load_object

#: What ``for_stage`` looks like on every backend class.
BackendFactory = Callable[[Project, StageConfig, Environment], Backend]


def default_backend(project: Project, stage: StageConfig) -> str:
    """The stage's configured backend; else local when it has local services, else compose."""
    if stage.backend:
        return stage.backend
    if any(s.runs_in(stage.name) for s in project.services.values()):
        return "local"
    return "compose"


def make_backend(
    project: Project, stage: StageConfig, env: Mapping[str, str], name: str | None = None
) -> Backend:
    """Build the named (or default) backend for one stage."""
    chosen = name or default_backend(project, stage)
    spec = BACKENDS.get(chosen)
    if spec is None:
        raise UsageError(f"unknown backend {chosen!r}: backends are {BACKENDS.one_of()}")
    environment = Environment(
        stage=stage.name,
        project_name=project.name,
        root=project.root,
        env=env,
        protected=stage.protected,
        base_url=stage.base_url,
    )
    implementation = load_object(spec.implementation)
    factory = cast("BackendFactory", getattr(implementation, "for_stage"))  # noqa: B009 - load_object returns object
    return factory(project, stage, environment)


def can_start(project: Project, stage: StageConfig) -> bool:
    """Whether the stage's own backend has anything to start; nothing is started or contacted.

    A backend that cannot be built for the stage (``backend = "local"`` with no
    local services) has nothing to start.
    """
    try:
        backend = make_backend(project, stage, {})
    except UsageError:
        return False
    return backend.can_start()
