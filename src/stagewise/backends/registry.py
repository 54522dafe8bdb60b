"""Pick a stage's backend by name; errors list the valid names."""

from __future__ import annotations

from collections.abc import Mapping

from stagewise.backends.base import Backend, Environment
from stagewise.errors import UsageError
from stagewise.project.model import Project, StageConfig

BACKEND_NAMES = ("local", "compose")


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
    environment = Environment(
        stage=stage.name,
        project_name=project.name,
        root=project.root,
        env=env,
        protected=stage.protected,
        base_url=stage.base_url,
    )
    if chosen == "local":
        from stagewise.backends.local import LocalBackend

        return LocalBackend(environment, project.services)
    if chosen == "compose":
        from stagewise.backends.compose import ComposeBackend

        compose_file = stage.compose_file or project.compose.file_for(stage.name)
        return ComposeBackend(
            environment,
            compose_file,
            project.compose.project_prefix or project.name,
            project.compose.prebuild,
        )
    raise UsageError(f"unknown backend {chosen!r}: backends are {', '.join(BACKEND_NAMES)}")
