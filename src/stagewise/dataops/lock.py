"""One lock per environment, so two deploys, migrations or restores never overlap.

The lock is a file created with O_EXCL holding the holder's pid, process start
time, command and since-when. A lock whose holder is gone (or whose pid now
belongs to another process) is stale and is taken over.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from stagewise.backends.local import _start_ticks
from stagewise.errors import StagewiseError


class LockedError(StagewiseError):
    """Another operation holds the environment's lock (exit 1); says who and since when."""


def _holder(path: Path) -> dict[str, object] | None:
    try:
        data: dict[str, object] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def _alive(holder: dict[str, object]) -> bool:
    pid, ticks = holder.get("pid"), holder.get("start_ticks")
    return isinstance(pid, int) and _start_ticks(pid) == ticks


@contextmanager
def env_lock(locks_dir: Path, env: str, what: str, wait: float = 0.0) -> Iterator[None]:
    """Hold ``<locks_dir>/<env>.lock`` for the duration; wait up to ``wait`` seconds for it."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    path = locks_dir / f"{env}.lock"
    me = {
        "pid": os.getpid(),
        "start_ticks": _start_ticks(os.getpid()),
        "command": what,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is None or not _alive(holder):
                path.unlink(missing_ok=True)  # stale: its holder is gone
                continue
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"{env} is locked by `{holder.get('command')}` (pid {holder.get('pid')}) "
                    f"since {holder.get('since')}: wait for it, or pass --wait SECONDS"
                ) from None
            time.sleep(0.5)
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(me))
        break
    try:
        yield
    finally:
        holder = _holder(path)
        if holder is not None and holder.get("pid") == os.getpid():
            path.unlink(missing_ok=True)
