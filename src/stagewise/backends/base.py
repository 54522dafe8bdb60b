"""The one interface every backend implements, and what its methods return.

A backend brings one environment (a stage) up and down. Adding one (Swarm,
Kubernetes) is a new module registered in :mod:`stagewise.plugins.backends`;
nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

#: Receives one line of output, already prefixed with its service name.
LineSink = Callable[[str], None]


@dataclass(frozen=True)
class ServiceStatus:
    """One service as the backend sees it right now."""

    name: str
    state: str
    health: str = "unknown"
    pid: int | None = None
    port: int | None = None
    uptime_s: float | None = None
    detail: str = ""
    #: The exit code of a service that has stopped, when the backend knows it.
    exit_code: int | None = None


@dataclass(frozen=True)
class Environment:
    """Everything a backend needs to know about the environment it manages."""

    stage: str
    project_name: str
    root: Path
    env: Mapping[str, str]
    protected: bool = False
    base_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Backend(Protocol):
    """Bring an environment up and down; each method raises typed errors only."""

    name: str

    def services(self) -> Sequence[str]:
        """The service names this environment has (for validation and help)."""
        ...

    def up(self, detach: bool, build: bool, sink: LineSink) -> list[ServiceStatus]:
        """Start every service in dependency order and wait until each is healthy.

        With ``detach`` it returns once all are healthy; without, it streams
        logs to ``sink`` until interrupted, then stops everything it started.
        """
        ...

    def down(self, volumes: bool) -> list[str]:
        """Stop (and remove) everything; returns what was stopped. Idempotent."""
        ...

    def build(self, service: str | None, sink: LineSink) -> None:
        """Build one service or all of them."""
        ...

    def logs(self, follow: bool, service: str | None, sink: LineSink) -> None:
        """Write logs to ``sink``; with ``follow`` until interrupted."""
        ...

    def status(self) -> list[ServiceStatus]:
        """The state of each service."""
        ...

    def stop_services(self, names: Sequence[str]) -> list[str]:
        """Stop just these services (e.g. the app around a restore); returns those that were running."""
        ...

    def start_services(self, names: Sequence[str], sink: LineSink) -> None:
        """Start these services again and wait until they are healthy."""
        ...

    def exec(self, service: str, argv: Sequence[str], sink: LineSink) -> int:
        """Run ``argv`` in (or beside) one service, with its environment; returns the exit code.

        Output goes to ``sink``; an unknown service is a ``UsageError``.
        """
        ...

    def health(self, service: str) -> bool:
        """Whether ``service`` runs and passes its health check right now (never raises for "no")."""
        ...

    def can_start(self) -> bool:
        """Whether this environment has anything to start (services declared, a compose file present).

        Cheap and side-effect free: it starts nothing and needs no daemon.
        """
        ...
