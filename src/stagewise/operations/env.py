"""``stagewise env``: a stage's resolved environment, secrets masked, as a result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stagewise.project.env import resolve_env
from stagewise.project.model import Project
from stagewise.project.policy import stage_named


@dataclass(frozen=True)
class EnvRequest:
    project: Project
    stage: str | None = None  # None: the project's default stage


@dataclass(frozen=True)
class Variable:
    name: str
    shown: str  # the value, masked when secret
    source: str
    secret: bool


@dataclass(frozen=True)
class EnvResult:
    stage: str
    project_file: str
    files_read: tuple[str, ...]
    variables: tuple[Variable, ...]  # sorted by name

    def record(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "project_file": self.project_file,
            "files_read": list(self.files_read),
            "variables": {
                v.name: {"value": v.shown, "source": v.source, "secret": v.secret} for v in self.variables
            },
        }


def resolve(request: EnvRequest, environ: Mapping[str, str]) -> EnvResult:
    """Resolve ``.env`` then ``.env.<stage>`` over ``environ``, with what stagewise provides."""
    project = request.project
    stage = stage_named(project, request.stage)
    provided = {"STAGEWISE_STAGE": stage.name, "TEST_ENVIRONMENT": stage.name}
    if stage.base_url:
        provided |= {"STAGEWISE_BASE_URL": stage.base_url, "TARGET_HOST": stage.base_url}
    resolved = resolve_env(project, stage, environ, provided)
    variables = tuple(
        Variable(v.name, v.shown(), v.source, v.secret)
        for v in sorted(resolved.variables.values(), key=lambda v: v.name)
    )
    return EnvResult(stage.name, project.describe_file(), tuple(resolved.files_read), variables)
