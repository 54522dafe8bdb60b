"""What a Docker Swarm knows about one stack: is there a swarm, its services, their tasks.

Read from the engine (``docker service ls``/``ps`` as JSON lines and the
stack label), never from ``docker stack`` tables, whose columns change.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stagewise.backends.compose import require_daemon
from stagewise.backends.compose_engine import run_bounded
from stagewise.errors import MissingError

STACK_LABEL = "label=com.docker.stack.namespace={}"
SWARM_HOW = "make this engine a one-node swarm: `docker swarm init --advertise-addr 127.0.0.1`"


def swarm_state() -> str:
    """The engine's ``Swarm.LocalNodeState`` (``active``, ``inactive``, ...)."""
    done = run_bounded(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"], 30)
    return done.stdout.strip() or "unknown"


def require_swarm() -> None:
    """Raise :class:`MissingError` (exit 4) unless the engine is an active swarm manager."""
    require_daemon()
    state = swarm_state()
    if state != "active":
        raise MissingError(f"this Docker engine is not part of a swarm (state: {state}): {SWARM_HOW}")
    done = run_bounded(["docker", "info", "--format", "{{.Swarm.ControlAvailable}}"], 30)
    if done.stdout.strip() != "true":
        raise MissingError("this Docker engine is a swarm worker: run stagewise on a manager node")


def _json_lines(command: list[str]) -> list[dict[str, Any]]:
    done = run_bounded(command, 60)
    found = []
    for line in done.stdout.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            found.append(item)
    return found


@dataclass(frozen=True)
class SwarmTask:
    """One task of a service: its slot, node, desired and current state, last error."""

    id: str
    name: str
    node: str
    desired: str
    current: str
    error: str

    @property
    def running(self) -> bool:
        return self.desired.lower() == "running" and self.current.lower().startswith("running")


def stack_services(stack: str) -> list[dict[str, Any]]:
    """``docker service ls`` rows (Name, Replicas ``n/m``, Mode, Image, Ports) of this stack."""
    return _json_lines(
        ["docker", "service", "ls", "--filter", STACK_LABEL.format(stack), "--format", "{{json .}}"]
    )


def service_tasks(service: str) -> list[SwarmTask]:
    """Every task the engine kept for ``service`` (newest first per slot), with its last error."""
    rows = _json_lines(["docker", "service", "ps", "--no-trunc", "--format", "{{json .}}", service])
    return [
        SwarmTask(
            str(r.get("ID", "")),
            str(r.get("Name", "")).lstrip("\\_ ").strip(),
            str(r.get("Node", "")),
            str(r.get("DesiredState", "")),
            str(r.get("CurrentState", "")),
            str(r.get("Error", "")),
        )
        for r in rows
    ]


def replicas(text: str) -> tuple[int, int]:
    """``"2/3"`` (or ``"2/3 (max 1 per node)"``) -> ``(2, 3)``; unknown -> ``(0, 0)``."""
    head = text.split(" ", 1)[0]
    running, _, wanted = head.partition("/")
    try:
        return int(running), int(wanted)
    except ValueError:
        return 0, 0


def task_containers(service: str) -> list[str]:
    """Ids of this service's running containers on this node."""
    done = run_bounded(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}"], 60
    )
    return done.stdout.split()


def stack_volumes(stack: str) -> set[str]:
    """Volumes the stack created (labelled with its namespace)."""
    done = run_bounded(["docker", "volume", "ls", "-q", "--filter", STACK_LABEL.format(stack)], 60)
    return set(done.stdout.split())


def remove_stack(stack: str, volumes: bool, wait_s: float = 90) -> None:
    """``docker stack rm`` and wait until its containers (and, with ``volumes``, its volumes) are gone."""
    import time

    run_bounded(["docker", "stack", "rm", stack], 120)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        left = run_bounded(["docker", "ps", "-aq", "--filter", STACK_LABEL.format(stack)], 60).stdout.split()
        nets = run_bounded(["docker", "network", "ls", "-q", "--filter", STACK_LABEL.format(stack)], 60)
        if not left and not nets.stdout.split():
            break
        time.sleep(1)
    if volumes:
        names: Sequence[str] = sorted(stack_volumes(stack))
        if names:
            subprocess.run(["docker", "volume", "rm", *names], capture_output=True, check=False, timeout=120)
