"""The journal: every process, cluster, rule and fault a run applied, with how to undo it.

An entry is written (and fsynced) *before* the thing it records is applied,
so a run killed at any instant leaves a journal that says what may exist.
Undo actions are idempotent: undoing something that never got applied, or
was already undone, is harmless. The next run (or ``stagewise regions down``)
replays whatever a crashed run left, newest first, before it starts anything.

Undo kinds (replayable by a fresh process, so they hold only plain data):

- ``process``: kill a process group we started (``pid`` + its start time, so
  a recycled PID is never killed), sending SIGCONT first in case it is stopped;
- ``pg``: ``pg_ctl stop -m immediate`` on a data directory;
- ``path``: remove a directory tree we created;
- ``argv``: run an argument list (iptables -D, ip netns del, a remote revert).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/PID/stat), or None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


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
        self._entries: list[dict[str, Any]] = []

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
        for path, entries in self._leftovers():
            if entries:
                on_note(f"resilience: reverting {len(entries)} leftover(s) of an interrupted run from {path}")
            for entry in reversed(entries):
                try:
                    _undo(entry, on_note)
                except Exception as exc:  # one failed undo must not stop the others
                    on_note(f"resilience: could not undo {entry.get('what')}: {exc}")
            count += len(entries)
            path.unlink(missing_ok=True)
        return count

    def record(self, kind: str, what: str, **data: Any) -> int:
        """Write an undo action to disk before its action is applied; returns its id."""
        with self._lock:
            entry = {"id": len(self._entries), "kind": kind, "what": what, "at": time.time(), **data}
            self._entries.append(entry)
            self._flush()
            return int(entry["id"])

    def update(self, entry_id: int, **data: Any) -> None:
        """Add facts learned after applying (a PID) to an entry."""
        with self._lock:
            self._entries[entry_id].update(data)
            self._flush()

    def undo(self, entry_id: int, on_note: Callable[[str], None] = lambda _line: None) -> None:
        """Undo one entry now (a fault's revert) and mark it done."""
        with self._lock:
            entry = self._entries[entry_id]
            if entry.get("undone"):
                return
        _undo(entry, on_note)
        with self._lock:
            entry["undone"] = True
            self._flush()

    def undo_all(self, on_note: Callable[[str], None] = lambda _line: None) -> None:
        """Undo every entry not yet undone, newest first, then remove this run's journal file."""
        for entry in reversed(list(self._entries)):
            if not entry.get("undone"):
                try:
                    _undo(entry, on_note)
                except Exception as exc:  # one failed undo must not stop the others
                    on_note(f"resilience: could not undo {entry.get('what')}: {exc}")
                    continue
                with self._lock:
                    entry["undone"] = True
                    self._flush()
        with self._lock:
            if all(e.get("undone") for e in self._entries):
                self._entries = []
                self.path.unlink(missing_ok=True)

    def _flush(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump({"owner": self.owner, "entries": self._entries}, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def _alive(owner: object) -> bool:
    """Whether the journal's owner process is still the same running process."""
    if not isinstance(owner, dict):
        return False
    start = process_start_time(int(owner.get("pid") or 0))
    return start is not None and start == owner.get("start")


def _undo(entry: dict[str, Any], on_note: Callable[[str], None]) -> None:
    kind = entry.get("kind")
    if kind == "process":
        kill_process(int(entry.get("pid") or 0), entry.get("start"))
    elif kind == "pg":
        stop_cluster(Path(str(entry["datadir"])), entry.get("user"))
    elif kind == "path":
        shutil.rmtree(str(entry["path"]), ignore_errors=True)
    elif kind == "argv":
        run_quiet(list(entry["argv"]))
    elif kind == "noop":
        return
    else:
        on_note(f"resilience: unknown journal entry kind {kind!r} ({entry.get('what')})")


def run_quiet(argv: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run an argument list, capturing its output; never raises for a non-zero exit."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


def kill_process(pid: int, start: str | None) -> None:
    """SIGCONT then SIGKILL the process group of ``pid``, only if it is still the same process."""
    if pid <= 0 or (start is not None and process_start_time(pid) != start):
        return
    for sig in (signal.SIGCONT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and process_start_time(pid) is not None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.02)


def stop_cluster(datadir: Path, user: str | None) -> None:
    """Stop a PostgreSQL cluster at once (SIGQUIT: no checkpoint) if it runs."""
    pid_file = datadir / "postmaster.pid"
    if not pid_file.exists():
        return
    from stagewise.tiers.resilience.postgres import pg_command

    run_quiet(pg_command(["pg_ctl", "stop", "-D", str(datadir), "-m", "immediate", "-w", "-t", "20"], user))
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pid_file.read_text(encoding="utf-8").split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


__all__ = ["Journal", "kill_process", "process_start_time", "run_quiet", "stop_cluster"]
