"""Stop every child of this process on Ctrl+C, whichever worker thread started it.

The steps run in worker threads, and a child started there (each in a session
of its own, :func:`stagewise.processes.start_group`) never sees the terminal's
Ctrl+C, and Python delivers the KeyboardInterrupt to the main thread only. So
the main thread stops them: every direct child of this process, found in
``/proc`` by its parent pid, each as a :class:`~stagewise.processes.ProcessRef`
(pid plus start time, so a reused pid is never signalled), its whole group
stopped by :func:`stagewise.processes.stop_group` in parallel.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from stagewise.processes import ProcessRef, stop_group

GRACE_SECONDS = 5.0


def child_pids(parent: int | None = None) -> list[int]:
    """The pids whose parent is ``parent`` (default: this process)."""
    wanted = os.getpid() if parent is None else parent
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == wanted:
            found.append(int(entry.name))
    return found


def stop_children() -> int:
    """Stop every child's process group (SIGINT, SIGTERM, then SIGKILL); returns how many there were."""
    refs = [ProcessRef.of(pid) for pid in child_pids()]
    threads = [
        threading.Thread(
            target=stop_group,
            args=(ref,),
            kwargs={"first": (signal.SIGINT, signal.SIGTERM), "grace": GRACE_SECONDS},
            daemon=True,
        )
        for ref in refs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(4 * GRACE_SECONDS)
    return len(refs)


__all__ = ["child_pids", "stop_children"]
