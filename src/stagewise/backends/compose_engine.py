"""What the Docker engine knows about one compose project, and undoing a failed ``up``.

Read from the engine (labels, ``docker inspect``), not from compose's text,
which differs between compose versions. A failed ``up -d`` must not leave an
"unhealthy" container running or a network behind: :func:`snapshot` records
what the project had before, and :func:`undo` removes what that ``up`` made —
containers and networks that were not there, volumes that did not exist (so
never data that existed before) — and stops containers it started that had
been stopped.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagewise.errors import DeployError

#: Health-check runs shown when a service fails its check (docker keeps the last 5).
HEALTH_ENTRIES = 3
_LABEL = "label=com.docker.compose.project={}"


def run_bounded(
    command: list[str], timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a docker command to completion; one that outlives ``timeout`` is a :class:`DeployError`."""
    try:
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DeployError(
            f"`{' '.join(command)}` did not finish within {timeout:g} s and was stopped: "
            "is the Docker daemon overloaded, or is a pull or build hanging?"
        ) from exc


def inspect_project(project: str) -> list[dict[str, Any]]:
    """``docker inspect`` of every container (running or not) labelled with this compose project."""
    done = run_bounded(["docker", "ps", "-a", "-q", "--filter", _LABEL.format(project)], 60)
    return _inspect(done.stdout.split())


def _inspect(ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    done = run_bounded(["docker", "inspect", *ids], 60)
    try:
        found = json.loads(done.stdout or "[]")
    except ValueError:
        return []
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def _ids(kind: str, *filters: str) -> set[str]:
    args = [part for f in filters for part in ("--filter", f)]
    done = run_bounded(["docker", kind, "ls", "-q", *args], 60)
    return set(done.stdout.split()) if done.returncode == 0 else set()


@dataclass(frozen=True)
class Snapshot:
    """The project's containers (id -> was running), its networks, and every volume on the engine."""

    containers: Mapping[str, bool]
    networks: frozenset[str]
    volumes: frozenset[str]


def snapshot(project: str) -> Snapshot:
    """What exists before an ``up`` (all volumes, since anonymous ones carry no project label)."""
    containers = {
        str(c.get("Id", "")): bool((c.get("State") or {}).get("Running")) for c in inspect_project(project)
    }
    return Snapshot(containers, frozenset(_ids("network", _LABEL.format(project))), frozenset(_ids("volume")))


def undo(project: str, before: Snapshot) -> list[str]:
    """Remove what the ``up`` since ``before`` created; returns what was done, for the error message.

    A step that fails is reported in the list, never raised: the ``up``'s own
    error is the one the user must see.
    """
    done: list[str] = []
    now = inspect_project(project)
    new = [c for c in now if c.get("Id") not in before.containers]
    started = [
        c
        for c in now
        if before.containers.get(str(c.get("Id"))) is False and (c.get("State") or {}).get("Running")
    ]
    mounted = {
        str(m.get("Name"))
        for c in new
        for m in c.get("Mounts") or []
        if m.get("Type") == "volume" and m.get("Name")
    }
    _step(done, ["docker", "rm", "-f", *(_id(c) for c in new)], "removed container", map(_name, new))
    _step(done, ["docker", "stop", *(_id(c) for c in started)], "stopped", map(_name, started))
    networks = sorted(_ids("network", _LABEL.format(project)) - before.networks)
    _step(done, ["docker", "network", "rm", *networks], "removed network", _network_names(networks))
    volumes = sorted((mounted | _ids("volume", _LABEL.format(project))) - before.volumes)
    _step(done, ["docker", "volume", "rm", *volumes], "removed new volume", volumes)
    return done


def _step(done: list[str], command: list[str], what: str, names: Any) -> None:
    listed = list(names)
    if not listed:
        return
    try:
        ran = run_bounded(command, 120)
    except DeployError as exc:
        done.append(f"could not clean up {', '.join(listed)}: {exc}")
        return
    if ran.returncode == 0:
        plural = "s" if len(listed) > 1 and not what.startswith("stopped") else ""
        done.append(f"{what}{plural} {', '.join(listed)}")
    else:
        reason = (ran.stderr.strip().splitlines() or ["no output"])[-1]
        done.append(f"could not clean up {', '.join(listed)}: {reason}")


def _id(container: Mapping[str, Any]) -> str:
    return str(container.get("Id", ""))


def _name(container: Mapping[str, Any]) -> str:
    return str(container.get("Name", "?")).lstrip("/")


def _network_names(ids: Sequence[str]) -> list[str]:
    if not ids:
        return []
    done = run_bounded(["docker", "network", "inspect", "--format", "{{.Name}}", *ids], 60)
    names = done.stdout.split()
    return names if done.returncode == 0 and len(names) == len(ids) else list(ids)


def health_log(container: Mapping[str, Any], entries: int = HEALTH_ENTRIES) -> list[str]:
    """The last health-check runs of a container (``.State.Health.Log``): when, exit code, output."""
    health = (container.get("State") or {}).get("Health") or {}
    runs = health.get("Log") or []
    lines = []
    for run in runs[-entries:]:
        when = str(run.get("Start", ""))[:19]
        output = re.sub(r"\s+", " ", str(run.get("Output") or "")).strip() or "(no output)"
        if len(output) > 200:
            output = output[:199] + "…"
        lines.append(f"  {when} exit {run.get('ExitCode', '?')}: {output}")
    return lines
