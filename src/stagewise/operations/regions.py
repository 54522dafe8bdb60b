"""``stagewise regions up | down | status``: the local multi-region topology's lifecycle.

The same lifecycle the resilience tier uses: replay what a crashed run left,
build the topology journalled, and on the way out close it and undo every
journal entry, whatever happens (a Ctrl+C from the first one on is not
delivered again until the teardown has run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stagewise.errors import InterruptedRun
from stagewise.interrupts import interrupt_once
from stagewise.project.model import Project
from stagewise.tiers.resilience.journal import Journal

Note = Callable[[str], None]


def _journal(project: Project) -> Journal:
    return Journal(project.root / project.resilience.state_dir)


@dataclass(frozen=True)
class RegionsStatus:
    """What the journal says may still exist, and the runs that are live now."""

    journals: str
    pending: tuple[dict[str, Any], ...]
    live_runs: tuple[int, ...]

    def record(self) -> dict[str, Any]:
        return {"journals": self.journals, "pending": list(self.pending), "live_runs": list(self.live_runs)}


def status(project: Project) -> RegionsStatus:
    journal = _journal(project)
    return RegionsStatus(str(journal.directory), tuple(journal.pending()), tuple(journal.live_runs()))


@dataclass(frozen=True)
class RegionsDown:
    reverted: int

    def record(self) -> dict[str, Any]:
        return {"reverted": self.reverted}


def down(project: Project, note: Note) -> RegionsDown:
    """Revert whatever a crashed or killed run left (a live run's entries are not touched)."""
    return RegionsDown(_journal(project).replay(note))


@dataclass(frozen=True)
class Region:
    name: str
    role: str
    url: str
    dsn: str
    weight: float
    location: str


@dataclass(frozen=True)
class RegionsUp:
    """The built topology: where to send requests and the writes' bearer token."""

    entry_url: str
    regions: tuple[Region, ...]
    token: str
    notes: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        regions = {
            r.name: {"role": r.role, "url": r.url, "dsn": r.dsn, "weight": r.weight, "location": r.location}
            for r in self.regions
        }
        return {"entry_url": self.entry_url, "regions": regions, "token": self.token}


def up(project: Project, note: Note, on_ready: Callable[[RegionsUp], None]) -> None:
    """Build the topology, hand it to ``on_ready``, hold it until Ctrl+C, then remove it all.

    Always ends in :class:`InterruptedRun` (exit 130) once interrupted, or in
    the error that stopped the build; everything it started is gone by then.
    """
    from stagewise.tiers.resilience.topology import build_local

    journal = _journal(project)
    journal.replay(note)
    deployment = None
    with interrupt_once():
        try:
            deployment = build_local(
                project.resilience,
                journal,
                project.root / project.resilience.state_dir,
                on_note=note,
                root=project.root,
            )
            regions = tuple(
                Region(r.name, r.role, r.url, r.dsn, r.weight, r.location)
                for r in deployment.regions.values()
            )
            token = deployment.write_headers.get("Authorization", "").removeprefix("Bearer ")
            on_ready(RegionsUp(deployment.entry_url, regions, token, tuple(deployment.notes)))
            while True:
                time.sleep(3600)
        except KeyboardInterrupt as exc:
            raise InterruptedRun("regions down: everything `regions up` started was stopped") from exc
        finally:
            if deployment is not None:
                deployment.close()
            journal.undo_all()
