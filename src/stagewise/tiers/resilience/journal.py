"""The journal: every process, cluster, rule and fault a run applied, with how to undo it.

An entry is written (and fsynced) *before* the thing it records is applied,
so a run killed at any instant leaves a journal that says what may exist.
Undo actions are idempotent: undoing something that never got applied, or
was already undone, is harmless. The next run (or ``stagewise regions down``)
replays whatever a crashed run left, newest first, before it starts anything.

Each entry is a typed record (one dataclass per kind, each with its own
``undo()``), replayable by a fresh process, so it holds only plain data. On
disk it is a JSON object: ``id``, ``kind``, ``what``, ``at`` and its fields.

- :class:`ProcessEntry` (``process``): SIGKILL a process group we started, only
  while ``pid`` still has the recorded start time (a recycled PID is never killed);
- :class:`ServerEntry` (``server``): a server that keeps a pid file (a
  PostgreSQL cluster): run its stop command, then SIGKILL the pid in the file;
- :class:`PathEntry` (``path``): remove a directory tree we created;
- :class:`ArgvEntry` (``argv``): run an argument list (iptables -D, ip netns del, a remote revert);
- :class:`NoopEntry` (``noop``): a note; another entry does the undoing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from stagewise.processes import ProcessRef, start_time, stop_group


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` as the journal writes it, or None if gone or a zombie."""
    ticks = start_time(pid)
    return None if ticks is None else str(ticks)


@dataclass(frozen=True)
class Entry:
    """One undo action; subclasses name their ``kind`` (on disk) and implement :meth:`undo`."""

    KIND: ClassVar[str] = ""
    what: str

    def undo(self) -> None:
        raise NotImplementedError

    def fields(self) -> dict[str, Any]:
        """The kind's own data, as written to disk."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "what"}


@dataclass(frozen=True)
class ProcessEntry(Entry):
    KIND: ClassVar[str] = "process"
    pid: int = 0
    start: str | None = None  # None until the process exists (or if it was gone at once)

    def undo(self) -> None:
        if self.pid <= 0 or self.start is None or process_start_time(self.pid) != self.start:
            return  # never started, already gone, or the pid now belongs to someone else
        stop_group(ProcessRef(self.pid, int(self.start)), first=())


@dataclass(frozen=True)
class ServerEntry(Entry):
    KIND: ClassVar[str] = "server"
    argv: list[str] = field(default_factory=list)  # the stop command
    pid_file: str = ""

    def undo(self) -> None:
        pid_file = Path(self.pid_file)
        if not pid_file.exists():
            return
        run_quiet(self.argv)
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pid_file.read_text(encoding="utf-8").split()[0])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class PathEntry(Entry):
    KIND: ClassVar[str] = "path"
    path: str = ""

    def undo(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


@dataclass(frozen=True)
class ArgvEntry(Entry):
    KIND: ClassVar[str] = "argv"
    argv: list[str] = field(default_factory=list)

    def undo(self) -> None:
        run_quiet(self.argv)


@dataclass(frozen=True)
class NoopEntry(Entry):
    KIND: ClassVar[str] = "noop"

    def undo(self) -> None:
        return


@dataclass(frozen=True)
class UnknownEntry(Entry):
    """An entry of a kind this version does not know: reported, never acted on."""

    kind: str = ""

    def undo(self) -> None:
        raise ValueError(f"unknown journal entry kind {self.kind!r}")


KINDS: dict[str, type[Entry]] = {
    kind.KIND: kind for kind in (ProcessEntry, ServerEntry, PathEntry, ArgvEntry, NoopEntry)
}
_META = ("id", "kind", "what", "at", "undone")


def entry_from_record(record: dict[str, Any]) -> Entry:
    """The typed entry a journal file's JSON object describes."""
    kind = str(record.get("kind"))
    what = str(record.get("what"))
    cls = KINDS.get(kind)
    if cls is None:
        return UnknownEntry(what, kind)
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(what, **{k: v for k, v in record.items() if k in known and k not in _META})


@dataclass
class _Slot:
    """An entry in this run's journal, with its bookkeeping."""

    id: int
    entry: Entry
    at: float
    undone: bool = False

    def record(self) -> dict[str, Any]:
        data = {"id": self.id, "kind": self.entry.KIND, "what": self.entry.what, "at": self.at}
        data.update(self.entry.fields())
        if self.undone:
            data["undone"] = True
        return data


class Journal:
    """One run's append-only list of undo actions, kept on disk; thread-safe.

    Each run writes its own file, ``journal-PID-START.json``, named by its
    process and that process's start time, so concurrent runs in one project
    never overwrite each other and a replay never reverts a run that is still
    alive: only files whose owner process is gone are replayed.
    """

    def __init__(self, directory: Path, owner: tuple[int, str | None] | None = None) -> None:
        self.directory = directory
        pid, start = owner if owner is not None else (os.getpid(), process_start_time(os.getpid()))
        self.owner = {"pid": pid, "start": start}
        self.path = directory / f"journal-{pid}-{start}.json"
        self._lock = threading.Lock()
        self._entries: list[_Slot] = []

    def _files(self) -> list[tuple[Path, dict[str, Any]]]:
        found = []
        for path in sorted(self.directory.glob("journal-*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("entries"), list):
                found.append((path, data))
        return found

    def live_runs(self) -> list[int]:
        """PIDs of other runs in this project that are still running (their journals are theirs)."""
        return [
            int(data["owner"]["pid"])
            for path, data in self._files()
            if path != self.path and _alive(data.get("owner"))
        ]

    def pending(self) -> list[dict[str, Any]]:
        """Entries that runs which are gone (crashed, killed) never undid."""
        return [entry for _path, entries in self._leftovers() for entry in entries]

    def _leftovers(self) -> list[tuple[Path, list[dict[str, Any]]]]:
        leftovers = []
        for path, data in self._files():
            if path == self.path or _alive(data.get("owner")):
                continue
            entries = [e for e in data["entries"] if isinstance(e, dict) and not e.get("undone")]
            leftovers.append((path, entries))
        return leftovers

    def replay(self, on_note: Callable[[str], None] = lambda _line: None) -> int:
        """Undo what runs that are gone left behind (each newest first); returns how many entries."""
        count = 0
        for path, records in self._leftovers():
            if records:
                on_note(f"resilience: reverting {len(records)} leftover(s) of an interrupted run from {path}")
            for record in reversed(records):
                _undo_noting(entry_from_record(record), on_note)
            count += len(records)
            path.unlink(missing_ok=True)
        return count

    def add(self, entry: Entry) -> int:
        """Write an undo action to disk before its action is applied; returns its id."""
        with self._lock:
            slot = _Slot(len(self._entries), entry, time.time())
            self._entries.append(slot)
            self._flush()
            return slot.id

    def record(self, kind: str, what: str, **data: Any) -> int:
        """:meth:`add` for an entry given as its kind's name and fields (as on disk)."""
        return self.add(entry_from_record({**data, "kind": kind, "what": what}))

    def update(self, entry_id: int, **data: Any) -> None:
        """Add facts learned after applying (a PID) to an entry."""
        with self._lock:
            slot = self._entries[entry_id]
            slot.entry = dataclasses.replace(slot.entry, **data)
            self._flush()

    def undo(self, entry_id: int, on_note: Callable[[str], None] = lambda _line: None) -> None:
        """Undo one entry now (a fault's revert) and mark it done."""
        with self._lock:
            slot = self._entries[entry_id]
            if slot.undone:
                return
        slot.entry.undo()
        with self._lock:
            slot.undone = True
            self._flush()

    def undo_all(self, on_note: Callable[[str], None] = lambda _line: None) -> None:
        """Undo every entry not yet undone, newest first, then remove this run's journal file."""
        for slot in reversed(list(self._entries)):
            if not slot.undone:
                if not _undo_noting(slot.entry, on_note):
                    continue
                with self._lock:
                    slot.undone = True
                    self._flush()
        with self._lock:
            if all(slot.undone for slot in self._entries):
                self._entries = []
                self.path.unlink(missing_ok=True)

    def _flush(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            entries = [slot.record() for slot in self._entries]
            json.dump({"owner": self.owner, "entries": entries}, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def _alive(owner: object) -> bool:
    """Whether the journal's owner process is still the same running process."""
    if not isinstance(owner, dict):
        return False
    start = process_start_time(int(owner.get("pid") or 0))
    return start is not None and start == owner.get("start")


def _undo_noting(entry: Entry, on_note: Callable[[str], None]) -> bool:
    """Undo ``entry``; a failure is noted, never raised (one failed undo must not stop the others)."""
    try:
        entry.undo()
    except Exception as exc:
        on_note(f"resilience: could not undo {entry.what}: {exc}")
        return False
    return True


def run_quiet(argv: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run an argument list, capturing its output; never raises for a non-zero exit."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


__all__ = [
    "ArgvEntry",
    "Entry",
    "Journal",
    "NoopEntry",
    "PathEntry",
    "ProcessEntry",
    "ServerEntry",
    "entry_from_record",
    "process_start_time",
    "run_quiet",
]
