"""The local topology's children: spawned journalled, killed, restarted.

Every child leads its own process group (:mod:`stagewise.processes`) and is
journalled before it exists, so a crash at any instant leaves nothing the next
run cannot find and stop.
"""

from __future__ import annotations

import os
from pathlib import Path

from stagewise.processes import start_group, stop_group
from stagewise.tiers.resilience.deployment import CHILD_MARKER, Deployment, Started
from stagewise.tiers.resilience.journal import ProcessEntry


def spawn(
    deployment: Deployment,
    name: str,
    argv: list[str],
    log: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Started:
    """Start a child in its own session (Ctrl+C reaches only us), journalled before it exists.

    ``cwd`` matters for a child that drops to another user: it must be able
    to enter its working directory.
    """
    entry = deployment.journal.add(ProcessEntry(f"{name} process"))
    with log.open("ab") as out:
        process, ref = start_group(
            argv,
            stdout=out,
            cwd=cwd,
            # The marker lets a check find every child of a run, whatever its command line says.
            env={**os.environ, CHILD_MARKER: "1", **(env or {})},
        )
    deployment.journal.update(entry, pid=ref.pid, start=None if ref.start is None else str(ref.start))
    started = Started(name, argv, log, entry, process, cwd, env)
    deployment.services[name] = started
    return started


def restart(deployment: Deployment, name: str) -> Started:
    """Start a killed child again with the same arguments (a fault's revert)."""
    old = deployment.services[name]
    return spawn(deployment, name, old.argv, old.log, cwd=old.cwd, env=old.env)


def kill(deployment: Deployment, name: str) -> None:
    """SIGKILL a child: what a region whose host dies looks like to everyone else."""
    started = deployment.services[name]
    if started.process is not None:
        stop_group(started.process, first=())  # no grace: SIGKILL at once
        started.process.wait(5)
    deployment.journal.undo(started.entry)


__all__ = ["kill", "restart", "spawn"]
