"""Child process groups: started, tracked and stopped in one place.

Start
    :func:`start_group` runs an argument list in its own session, so the child
    leads a process group holding everything it forks, and a Ctrl+C at the
    terminal reaches stagewise only: stagewise alone decides how it stops.

Track
    A pid alone is no identity: the kernel reuses them. A :class:`ProcessRef`
    is the pid plus the kernel's start time of that process (field 22 of
    ``/proc/PID/stat``, clock ticks since boot, read by :func:`start_time`
    only). A pid whose start time differs is someone else's and is never
    signalled; a zombie or a dead pid has no start time.

Stop (the one sequence, :func:`stop_group`)
    1. if the group's leader is no longer the tracked process, do nothing;
    2. for each signal of ``first`` (SIGTERM unless the caller differs: SIGINT
       then SIGTERM for a tool that writes its report on Ctrl+C, none at all
       for no grace) send it to the group, then SIGCONT so that a stopped
       (SIGSTOPped) group can act on it, and wait up to ``grace`` seconds for
       every member of the group to exit;
    3. SIGKILL the group and wait (up to :data:`KILL_WAIT_SECONDS`) until it is gone.

    A zombie leader that is our child is reaped on the way. Callers that must
    not be cut short by a second Ctrl+C wrap the stop in
    :func:`stagewise.interrupts.interrupt_once`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

#: The grace period unless a caller needs another one.
DEFAULT_GRACE_SECONDS = 10.0
#: How long a SIGKILLed group may take to disappear.
KILL_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.05


def start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` in clock ticks, or None if it is gone or a zombie."""
    if pid <= 0:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@dataclass(frozen=True)
class ProcessRef:
    """A process by pid and start time: still the same process only while both match."""

    pid: int
    start: int | None  # None: it was gone before its start time could be read

    @classmethod
    def of(cls, pid: int) -> ProcessRef:
        """The process running as ``pid`` now."""
        return cls(pid, start_time(pid))

    def alive(self) -> bool:
        """Whether ``pid`` is still this process (not gone, not a zombie, not a reused pid)."""
        return self.start is not None and start_time(self.pid) == self.start


def start_group(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[Any] | None = None,
    stderr: int | IO[Any] | None = subprocess.STDOUT,
) -> tuple[subprocess.Popen[bytes], ProcessRef]:
    """Start ``argv`` (an argument list) leading its own session; stdin is /dev/null.

    Raises ``OSError`` (``FileNotFoundError``, ``PermissionError``) when it cannot start;
    callers turn that into their own error.
    """
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )
    return process, ProcessRef.of(process.pid)


def stop_group(
    target: ProcessRef | subprocess.Popen[Any],
    *,
    first: Sequence[signal.Signals] = (signal.SIGTERM,),
    grace: float = DEFAULT_GRACE_SECONDS,
) -> bool:
    """Stop the process group led by ``target`` with the sequence above; whether it signalled one.

    With a ``Popen`` (our own child, not yet waited for) the pid cannot have
    been reused, so the group is stopped even if its leader already exited;
    with a :class:`ProcessRef` only while the leader is still that process.
    """
    if isinstance(target, subprocess.Popen):
        pid, child = target.pid, target
    else:
        if not target.alive():
            return False
        pid, child = target.pid, None
    for sig in first:
        if not _signal(pid, sig):
            return False
        _signal(pid, signal.SIGCONT)
        if _wait_gone(pid, child, grace):
            return True
    if not _signal(pid, signal.SIGKILL):
        return bool(first)
    _wait_gone(pid, child, KILL_WAIT_SECONDS)
    return True


def _signal(pgid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its user; the others got it
        return True
    return True


def _wait_gone(pgid: int, child: subprocess.Popen[Any] | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if not _group_alive(pgid, child):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)


def _group_alive(pgid: int, child: subprocess.Popen[Any] | None) -> bool:
    # A zombie leader still counts for killpg: reap it if it is our child.
    if child is not None:
        child.poll()
    else:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return start_time(pgid) is not None or _any_member(pgid)


def _any_member(pgid: int) -> bool:
    """Whether a live (not zombie) process is in group ``pgid``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "KILL_WAIT_SECONDS",
    "ProcessRef",
    "start_group",
    "start_time",
    "stop_group",
]
