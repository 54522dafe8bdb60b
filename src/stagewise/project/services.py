"""Services and compose settings of the project file, validated.

A service is something ``deploy ENV up`` starts on the local backend: a
command (an argument list, never a shell string), its working directory,
environment, port, health check, dependencies, build steps, and the data it
keeps (deleted by ``down --volumes``). Strings may use ``{stage}``, ``{port}``,
``{root}`` and ``{state_dir}``; they are filled in per environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
HEALTH_KINDS = ("http", "tcp", "command")


@dataclass(frozen=True)
class HealthCheck:
    """How to tell that a service is ready: an HTTP URL, a TCP port or a command."""

    kind: str
    target: tuple[str, ...]
    timeout: float = 30.0


@dataclass(frozen=True)
class ServiceConfig:
    """One locally run service."""

    name: str
    command: tuple[str, ...]
    cwd: str = "."
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    stage_ports: dict[str, int] = field(default_factory=dict)
    health: HealthCheck | None = None
    depends_on: tuple[str, ...] = ()
    build: tuple[tuple[str, ...], ...] = ()
    prestart: tuple[tuple[str, ...], ...] = ()
    data: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()

    def port_for(self, stage: str) -> int | None:
        """The port this service listens on in ``stage``."""
        return self.stage_ports.get(stage, self.port)

    def runs_in(self, stage: str) -> bool:
        """Whether the local backend starts this service for ``stage``."""
        return not self.stages or stage in self.stages


@dataclass(frozen=True)
class ComposeConfig:
    """Compose backend settings: per-stage files and host-side steps before a build."""

    files: dict[str, str] = field(default_factory=dict)
    prebuild: tuple[tuple[str, ...], ...] = ()
    project_prefix: str | None = None

    def file_for(self, stage: str) -> str:
        """The compose file of a stage: the spec's names unless overridden."""
        default = {"staging": "docker-compose.stag.yml"}.get(stage, f"docker-compose.{stage}.yml")
        return self.files.get(stage, default)
