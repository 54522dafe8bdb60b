"""Releases on Swarm: the engine's own rolling update, and rolling the whole stack back together.

Every ``up`` keeps the stack spec it deployed (``.stagewise/<stage>/swarm/current.yml``)
and the one before it (``previous.yml``). :func:`rolling_update` deploys the
current spec with new image tags; each service's ``deploy.update_config``
(parallelism 1, ``order: start-first``, ``failure_action: rollback``, a
monitor window, unless the file says otherwise) makes the engine replace
tasks one at a time, new before old. :func:`rollback_stack` redeploys the
previous spec as one stack, so every service goes back together, rather than
``docker service rollback`` one service at a time.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from stagewise.backends.base import Environment, LineSink, ServiceStatus
from stagewise.backends.compose_engine import run_bounded
from stagewise.backends.swarm_compose import read, write
from stagewise.errors import DeployError


class SwarmBackend(Protocol):
    """What a release needs of :class:`stagewise.backends.swarm.SwarmBackend` (no import cycle)."""

    stack: str

    @property
    def environment(self) -> Environment: ...

    def deploy_spec(self, path: Path, sink: LineSink) -> int: ...

    def converge(self, sink: LineSink) -> list[ServiceStatus]: ...


#: What a service's rolling update uses when its compose file does not say.
UPDATE_DEFAULTS = {"parallelism": 1, "order": "start-first", "failure_action": "rollback", "monitor": "10s"}


def spec_dir(backend: SwarmBackend) -> Path:
    env = backend.environment
    return env.root / ".stagewise" / env.stage / "swarm"


def with_update_defaults(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` with :data:`UPDATE_DEFAULTS` filled into each service's ``deploy.update_config``."""
    out = dict(doc)
    services = {}
    for name, raw in dict(doc["services"]).items():
        service = dict(raw)
        deploy = dict(service.get("deploy") or {})
        deploy["update_config"] = {**UPDATE_DEFAULTS, **dict(deploy.get("update_config") or {})}
        service["deploy"] = deploy
        services[name] = service
    out["services"] = services
    return out


def remember(backend: SwarmBackend, spec: Path) -> None:
    """Keep ``spec`` as the current one; the current one before it becomes ``previous``."""
    where = spec_dir(backend)
    where.mkdir(parents=True, exist_ok=True)
    current = where / "current.yml"
    if current.is_file():
        shutil.copyfile(current, where / "previous.yml")
    shutil.copyfile(spec, current)


def update_state(service: str) -> str:
    """The engine's ``UpdateStatus.State`` of a service (``""`` when it was never updated)."""
    done = run_bounded(["docker", "service", "inspect", "--format", "{{json .UpdateStatus}}", service], 60)
    try:
        status = json.loads(done.stdout or "null")
    except ValueError:
        return ""
    return str((status or {}).get("State", "")) if isinstance(status, dict) else ""


def rolling_update(
    backend: SwarmBackend, image_tags: Mapping[str, str], sink: LineSink
) -> list[ServiceStatus]:
    """Deploy the current spec with ``image_tags`` (service -> image) and wait for the engine's update.

    A service whose update the engine rolled back (its monitor saw tasks fail)
    is a :class:`DeployError` naming it; the stack then runs the old images.
    """
    current = spec_dir(backend) / "current.yml"
    if not current.is_file():
        raise DeployError(f"no stack deployed by stagewise for {backend.environment.stage}: up first")
    doc = read(current)
    for service, image in image_tags.items():
        if service not in doc["services"]:
            raise DeployError(f"unknown service {service!r} in stack {backend.stack}")
        doc["services"][service]["image"] = image
    path = spec_dir(backend) / "next.yml"
    write(with_update_defaults(doc), path)
    if backend.deploy_spec(path, sink) != 0:
        raise DeployError(f"`docker stack deploy {backend.stack}` failed")
    remember(backend, path)
    failed = _wait_updates(backend, list(image_tags), sink)
    if failed:
        raise DeployError(
            f"the engine rolled back {', '.join(failed)}: its new tasks failed within the monitor window"
        )
    return backend.converge(sink)


def _wait_updates(
    backend: SwarmBackend, services: list[str], sink: LineSink, timeout: float = 600
) -> list[str]:
    deadline = time.monotonic() + timeout
    pending = dict.fromkeys(services, "")
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            state = update_state(f"{backend.stack}_{name}")
            if state in ("completed", "rollback_completed", "paused", "rollback_paused"):
                sink(f"{name} | update {state}")
                pending[name] = state
                if state == "completed":
                    del pending[name]
        if all(pending.values()):
            break
        time.sleep(1)
    return sorted(pending)


def rollback_stack(backend: SwarmBackend, sink: LineSink) -> list[ServiceStatus]:
    """Redeploy the previous stack spec: every service back to what it ran before, together."""
    where = spec_dir(backend)
    previous = where / "previous.yml"
    if not previous.is_file():
        raise DeployError(f"nothing to roll back to: {backend.stack} has had one deploy only")
    if backend.deploy_spec(previous, sink) != 0:
        raise DeployError(f"`docker stack deploy {backend.stack}` (rollback) failed")
    shutil.copyfile(previous, where / "current.yml")
    return backend.converge(sink)
