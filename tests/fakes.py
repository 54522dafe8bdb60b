"""Test seams: a :class:`FakeBackend` that implements the Backend protocol in memory.

Register it as the backend named ``fake`` (``with registered_fake(): ...``) and
the core's deploy operations build it like any other backend, with no subprocess. Its
state lives per (project root, stage) across instances, since each
operation builds a fresh backend; every call is recorded with whether the
caller held the env lock at that moment.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from stagewise.backends.base import Environment, LineSink, ServiceStatus
from stagewise.dataops.lock import holds, project_locks
from stagewise.plugins.backends import BACKENDS, Spec
from stagewise.project.model import Project, StageConfig


@dataclass
class FakeState:
    """One fake environment: what runs, whether its data is still there, what was asked."""

    services: tuple[str, ...]
    running: set[str] = field(default_factory=set)
    data: bool = True
    built: list[str] = field(default_factory=list)
    #: (method, the env lock was held) for every call that changes something or reads state.
    calls: list[tuple[str, bool]] = field(default_factory=list)


class FakeBackend:
    """In-memory environment: ``up`` marks every service running, ``down(volumes)`` deletes the data."""

    name = "fake"
    states: ClassVar[dict[tuple[Path, str], FakeState]] = {}

    def __init__(self, environment: Environment, services: Sequence[str] = ("app",)) -> None:
        self.environment = environment
        key = (environment.root, environment.stage)
        self.state = self.states.setdefault(key, FakeState(tuple(services)))

    @classmethod
    def for_stage(cls, project: Project, stage: StageConfig, environment: Environment) -> FakeBackend:
        return cls(environment, tuple(project.services) or ("app",))

    @classmethod
    def state_of(cls, root: Path, stage: str) -> FakeState | None:
        return cls.states.get((root, stage))

    def _call(self, method: str) -> None:
        locked = holds(project_locks(self.environment.root), self.environment.stage)
        self.state.calls.append((method, locked))

    def services(self) -> Sequence[str]:
        return list(self.state.services)

    def up(self, detach: bool, build: bool, sink: LineSink) -> list[ServiceStatus]:
        self._call("up")
        if build:
            self.state.built.extend(self.state.services)
        for name in self.state.services:
            self.state.running.add(name)
            sink(f"{name} | healthy")
        return self.status()

    def down(self, volumes: bool) -> list[str]:
        self._call("down")
        stopped = [n for n in self.state.services if n in self.state.running]
        self.state.running.clear()
        if volumes:
            self.state.data = False
        return stopped

    def build(self, service: str | None, sink: LineSink) -> None:
        self._call("build")
        self.state.built.extend([service] if service else self.state.services)

    def logs(self, follow: bool, service: str | None, sink: LineSink) -> None:
        self._call("logs")
        for name in [service] if service else self.state.services:
            sink(f"{name} | a log line")

    def status(self) -> list[ServiceStatus]:
        return [
            ServiceStatus(n, "running", "healthy")
            if n in self.state.running
            else ServiceStatus(n, "stopped", "-")
            for n in self.state.services
        ]

    def stop_services(self, names: Sequence[str]) -> list[str]:
        self._call("stop_services")
        stopped = [n for n in names if n in self.state.running]
        self.state.running.difference_update(stopped)
        return stopped

    def start_services(self, names: Sequence[str], sink: LineSink) -> None:
        self._call("start_services")
        self.state.running.update(names)

    def exec(self, service: str, argv: Sequence[str], sink: LineSink) -> int:
        self._call("exec")
        sink(f"{service} | {' '.join(argv)}")
        return 0 if service in self.state.running else 1

    def health(self, service: str) -> bool:
        return service in self.state.running

    def can_start(self) -> bool:
        return bool(self.state.services)


@contextmanager
def registered_fake() -> Iterator[type[FakeBackend]]:
    """Register :class:`FakeBackend` as the ``fake`` backend for the duration (state starts empty)."""
    FakeBackend.states.clear()
    BACKENDS.register(Spec("fake", "tests.fakes:FakeBackend", "in memory, for tests"))
    try:
        yield FakeBackend
    finally:
        BACKENDS.unregister("fake")
        FakeBackend.states.clear()
