"""What a release needs of a backend: build an artifact, run it in a slot, say what runs.

The transaction (:mod:`stagewise.release.orchestrate`) is the same on every
backend; only these differ. An *artifact* is a string the history keeps
(``extra["artifact"]``): on the local backend the path of a copy of the
code (:mod:`stagewise.release.slots`), on compose an image tag
(:mod:`stagewise.release.compose_slots`). :class:`LocalSlots` is the local
backend's side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from stagewise.backends.base import Environment, LineSink
from stagewise.errors import MigrationGateRefused, UsageError
from stagewise.operations.policy import Target
from stagewise.project.release_config import ReleaseConfig
from stagewise.project.services import ServiceConfig
from stagewise.release.history import ReleaseRecord
from stagewise.release.slots import SlotBackend, make_artifact

Say = Callable[[str], None]


class Instance(Protocol):
    """One running copy of the released service (a slot's process or container)."""

    def up(self, detach: bool, build: bool, sink: LineSink) -> object: ...

    def down(self, volumes: bool) -> list[str]: ...

    def running(self) -> bool: ...

    def tail(self) -> str: ...


@dataclass(frozen=True)
class Built:
    """What the build step made: the artifact, and for an image its tag and id."""

    artifact: str
    image: str | None = None
    image_digest: str | None = None


class Slots(Protocol):
    """One backend's release side (see the module docstring)."""

    ports: dict[str, int]

    def build(self, release_id: str, version: str, say: Say) -> Built: ...

    def kept(self, record: ReleaseRecord) -> str | None: ...

    def instance(self, slot: str, artifact: str | None) -> Instance: ...

    def gate_instance(self, port_of: str, artifact: str | None, url: str) -> Instance: ...

    def running_slot(self) -> str | None: ...

    def served(self, artifact: str) -> None: ...

    def stop_spare(self) -> list[str]: ...


class LocalSlots:
    """The local backend: slot ``a`` is the service's own process, ``b`` the spare port's."""

    def __init__(self, target: Target, config: ReleaseConfig, environment: Environment) -> None:
        self.target, self.environment = target, environment
        self.service = _local_service(target, config)
        port = self.service.port_for(target.stage)
        if port is None:
            raise UsageError(f"services.{self.service.name} needs a port for stage {target.stage}")
        self.ports = {"a": port, "b": config.spare_port or port + 1}
        self.state_dir = target.project.root / ".stagewise" / target.stage

    def build(self, release_id: str, version: str, say: Say) -> Built:
        artifact = self.state_dir / "artifacts" / release_id
        make_artifact(self.target.project.root, artifact)
        return Built(str(artifact))

    def kept(self, record: ReleaseRecord) -> str | None:
        artifact = record.extra.get("artifact")
        return artifact if artifact and Path(artifact).is_dir() else None

    def instance(self, slot: str, artifact: str | None) -> SlotBackend:
        target = self.target
        return SlotBackend(
            self.environment,
            self.service,
            target.project,
            target.config,
            slot=slot,
            port=self.ports[slot],
            artifact=Path(artifact) if artifact else None,
        )

    def gate_instance(self, port_of: str, artifact: str | None, url: str) -> SlotBackend:
        """The old version's artifact on ``port_of``'s port, its database URL ``url`` (the gate's).

        Without an artifact (the version serving now was started by ``deploy ENV up``), its code
        is not kept: the tree has moved on, so starting it would check the new code, not the old.
        """
        target = self.target
        if artifact is None:
            raise MigrationGateRefused(
                f"migration gate: the version serving {target.stage} now was started by `deploy "
                f"{target.stage} up`, not by a release, so its code is not kept and cannot be checked "
                "against the new schema; release it first with no pending migration (or migrate with "
                f"`deploy {target.stage} migrate`, unchecked); the live database was not touched"
            )
        url_env = target.project.data.url_env
        service = dataclasses.replace(self.service, env={**self.service.env, url_env: url})
        return SlotBackend(
            dataclasses.replace(self.environment, env={**target.env, url_env: url}),
            service,
            target.project,
            target.config,
            slot="gate",
            port=self.ports[port_of],
            artifact=Path(artifact) if artifact else None,
        )

    def running_slot(self) -> str | None:
        return next((s for s in ("a", "b") if self.instance(s, None).running()), None)

    def served(self, artifact: str) -> None:
        return None  # slot a's state file already names the process that serves

    def stop_spare(self) -> list[str]:
        return [f"{name} (slot b)" for name in self.instance("b", None).down(volumes=False)]


def _local_service(target: Target, config: ReleaseConfig) -> ServiceConfig:
    services = {n: s for n, s in target.project.services.items() if s.runs_in(target.stage)}
    name = config.service or (next(iter(services)) if len(services) == 1 else None)
    if name is None or name not in services:
        raise UsageError(
            f"release.{target.stage}.service must name one of: {', '.join(services) or 'no services'}"
        )
    return services[name]


__all__ = ["Built", "Instance", "LocalSlots", "Slots"]
