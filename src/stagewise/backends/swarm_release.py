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
from collections.abc import Mapping, Sequence
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

    @property
    def timeout(self) -> float: ...


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
    return update_to(backend, doc, list(image_tags), sink)


def update_to(
    backend: SwarmBackend, doc: Mapping[str, Any], watched: Sequence[str], sink: LineSink
) -> list[ServiceStatus]:
    """Deploy ``doc`` (a whole stack spec) as the engine's rolling update, then wait until it converged.

    Each service in ``watched`` must finish its update (``UpdateStatus`` ``completed``,
    started after this deploy; a service whose spec did not change has no update to wait
    for). One the engine rolled back, or paused, or still updating when the wait
    (``STAGEWISE_SWARM_TIMEOUT``) ends, is a :class:`DeployError` naming it.
    """
    path = spec_dir(backend) / "next.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)  # the rendered environment may hold the stage's secrets
    write(with_update_defaults(doc), path)
    before = {name: update_status(f"{backend.stack}_{name}") for name in watched}
    if backend.deploy_spec(path, sink) != 0:
        raise DeployError(f"`docker stack deploy {backend.stack}` failed")
    remember(backend, path)
    outcome = _wait_updates(backend, before, sink, backend.timeout)
    failed = {name: state for name, state in outcome.items() if state != "completed"}
    if failed:
        said = ", ".join(
            f"{name} ({_said(state, backend.timeout)})" for name, state in sorted(failed.items())
        )
        raise DeployError(f"the rolling update of stack {backend.stack} did not complete: {said}")
    return backend.converge(sink)


def _said(state: str, timeout: float) -> str:
    if state.startswith("rollback"):
        return f"{state}: the engine rolled it back, its new tasks failed within the monitor window"
    if state == "paused":
        return "paused: its new tasks failed within the monitor window"
    return f"still {state or 'not started'} after {timeout:g}s (STAGEWISE_SWARM_TIMEOUT)"


#: A service whose ``UpdateStatus`` has not changed this long after the deploy had nothing to update.
UNCHANGED_S = 6.0


def update_status(service: str) -> tuple[str, str]:
    """The engine's ``UpdateStatus`` of a service as (state, started at); ("", "") when never updated."""
    done = run_bounded(["docker", "service", "inspect", "--format", "{{json .UpdateStatus}}", service], 60)
    try:
        status = json.loads(done.stdout or "null")
    except ValueError:
        return "", ""
    if not isinstance(status, dict):
        return "", ""
    return str(status.get("State", "")), str(status.get("StartedAt", ""))


def update_state(service: str) -> str:
    """The engine's ``UpdateStatus.State`` of a service (``""`` when it was never updated)."""
    return update_status(service)[0]


#: Update states the engine ends in (``completed`` is the only good one).
_FINAL = ("completed", "rollback_completed", "paused", "rollback_paused")


def _wait_updates(
    backend: SwarmBackend, before: Mapping[str, tuple[str, str]], sink: LineSink, timeout: float
) -> dict[str, str]:
    """service -> how its update ended (``completed`` when it had none to do), or its state at the timeout."""
    started = time.monotonic()
    deadline = started + timeout
    pending = dict(before)
    outcome: dict[str, str] = {}
    while pending:
        for name, prior in list(pending.items()):
            state, since = update_status(f"{backend.stack}_{name}")
            if (state, since) == prior:
                if time.monotonic() - started >= UNCHANGED_S:
                    sink(f"{name} | spec unchanged: nothing to update")
                    outcome[name] = "completed"
                    del pending[name]
                continue
            outcome[name] = state
            if state in _FINAL:
                sink(f"{name} | update {state}")
                del pending[name]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1)
    return outcome


def rollback_stack(backend: SwarmBackend, sink: LineSink) -> list[ServiceStatus]:
    """Redeploy the previous stack spec: every service back to what it ran before, together."""
    previous = spec_dir(backend) / "previous.yml"
    if not previous.is_file():
        raise DeployError(f"nothing to roll back to: {backend.stack} has had one deploy only")
    return put_back(backend, read(previous), sink)


def current_spec(backend: SwarmBackend) -> dict[str, Any] | None:
    """The spec stagewise last deployed for this stack (None before its first ``up``)."""
    current = spec_dir(backend) / "current.yml"
    return read(current) if current.is_file() else None


def put_back(backend: SwarmBackend, doc: Mapping[str, Any], sink: LineSink) -> list[ServiceStatus]:
    """Deploy ``doc`` (what ran before) in one ``docker stack deploy``: every service goes back together.

    Not ``docker service rollback`` service by service (docker/cli#595): the whole
    stack's spec is handed to the engine at once, each service rolled by its own
    ``update_config`` (start-first), and ``doc`` is the current spec again. Waits for
    every service's update and for convergence, as :func:`update_to` does.
    """
    where = spec_dir(backend)
    path = where / "back.yml"
    where.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    write(dict(doc), path)
    watched = list(dict(doc["services"]))
    before = {name: update_status(f"{backend.stack}_{name}") for name in watched}
    if backend.deploy_spec(path, sink) != 0:
        raise DeployError(f"`docker stack deploy {backend.stack}` (putting the stack back) failed")
    shutil.copyfile(path, where / "current.yml")
    outcome = _wait_updates(backend, before, sink, backend.timeout)
    failed = sorted(name for name, state in outcome.items() if state != "completed")
    if failed:
        raise DeployError(f"putting stack {backend.stack} back did not complete for {', '.join(failed)}")
    return backend.converge(sink)
