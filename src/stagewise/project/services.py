"""Services and compose settings of the project file, validated.

A service is something ``deploy ENV up`` starts on the local backend: a
command (an argument list, never a shell string), its working directory,
environment, port, health check, dependencies, build and prestart steps, and
the data it keeps (deleted by ``down --volumes``). Strings may use ``{stage}``,
``{port}``, ``{root}``, ``{state_dir}`` and ``{python}`` (the project's own
interpreter, ``project.python``); they are filled in per environment.

A step is an argument list, or a table that also says how long it may run
(``timeout``) and whether it is the service's migration (``migrate = true``):
a migration step runs through stagewise's guarded migrate (the env lock, and
on a protected stage a verified backup first and the data put back on
failure); one with no ``command`` is stagewise's own ``migrate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
HEALTH_KINDS = ("http", "tcp", "command")
#: How long a build or prestart step may run when its table sets no ``timeout``.
DEFAULT_STEP_TIMEOUT = 600.0


@dataclass(frozen=True)
class Step:
    """One build or prestart step.

    ``command`` is empty only for ``migrate = true`` with no command: stagewise's
    own ``migrate`` (alembic upgrade head). ``label`` is its key path in the
    project file (``services.app.prestart[0]``), what errors and prompts name.
    """

    command: tuple[str, ...] = ()
    migrate: bool = False
    timeout: float = DEFAULT_STEP_TIMEOUT
    label: str = ""

    def describe(self) -> str:
        """The step as progress lines show it."""
        if not self.command:
            return "stagewise migrate (alembic upgrade head)"
        return " ".join(self.command)


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
    build: tuple[Step, ...] = ()
    prestart: tuple[Step, ...] = ()
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
        """The compose file of a stage as configured: ``compose.files.<stage>``, else the spec's name.

        It reads no directory (``stagewise init`` compares against it); what a
        deploy uses is :meth:`lookup`.
        """
        return self.files.get(stage, candidates(stage)[0][0])

    def lookup(self, stage: str, root: Path) -> tuple[str, ...]:
        """The compose files that may be ``stage``'s: one name when the choice is clear.

        ``compose.files.<stage>`` wins. Else the first group of
        :func:`candidates` with a file present under ``root``; two present in
        that group is ambiguous and all are returned for the caller to refuse.
        Empty when nothing is there.
        """
        if stage in self.files:
            return (self.files[stage],)
        for group in candidates(stage):
            present = tuple(name for name in group if (root / name).is_file())
            if present:
                return present
        return ()


def candidates(stage: str) -> tuple[tuple[str, ...], ...]:
    """File names a stage's compose file may have, in groups, most specific first.

    The stage's own files (the spec's ``docker-compose.<stage>.yml`` —
    ``.stag`` for staging — and the Compose-spec ``compose.<stage>.yaml``);
    then, for dev only, the project's base file (``compose.yaml``,
    ``docker-compose.yml``): a base file is what ``docker compose up`` runs on
    a developer's machine, never silently what prod runs.
    """
    suffixes = ("stag", "staging") if stage == "staging" else (stage,)
    own = tuple(
        name
        for suffix in suffixes
        for name in (
            f"docker-compose.{suffix}.yml",
            f"docker-compose.{suffix}.yaml",
            f"compose.{suffix}.yaml",
            f"compose.{suffix}.yml",
        )
    )
    if stage != "dev":
        return (own,)
    return (own, ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"))
