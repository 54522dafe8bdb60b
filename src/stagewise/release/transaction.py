"""What every backend's release transaction shares: its requests and its timed, saved steps.

:mod:`.orchestrate` (local and compose: slots and a front door) and
:mod:`.swarm_flow` (the engine's rolling update) both run a release as named
steps whose wall times go into the record, saved after each one, so the
history shows how far a release got even when it was killed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from stagewise.operations.policy import Target
from stagewise.release.history import History, ReleaseRecord, now

Say = Callable[[str], None]


@dataclass(frozen=True)
class ReleaseRequest:
    target: Target
    version: str | None = None


@dataclass(frozen=True)
class RollbackRequest:
    target: Target
    release: str | None = None


class Steps:
    """Times each step into the record and saves it, so the history shows how far it got."""

    def __init__(self, history: History, record: ReleaseRecord, say: Say) -> None:
        self.history, self.record, self.say = history, record, say
        self.current = ""
        history.save(record)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.current = name
        self.say(f"release {self.record.id}: {name}")
        started = time.monotonic()
        try:
            yield
        finally:
            self.record = self.record.with_step(name, time.monotonic() - started)
            self.history.save(self.record)

    def finish(self, outcome: str, detail: str = "") -> ReleaseRecord:
        self.record = replace(self.record, outcome=outcome, detail=detail, finished_at=now())
        self.history.save(self.record)
        return self.record


__all__ = ["ReleaseRequest", "RollbackRequest", "Steps"]
