"""One lock per environment, so two deploys, migrations or restores never overlap.

The lock is an ``flock`` on ``.stagewise/locks/<env>.lock``: the kernel gives
it to one process at a time and drops it when that process dies, so a lock
left by a crash is never stale and two takers can never both win (a pid file
with O_EXCL and "stale" takeover can: read-then-unlink races). The file holds
the holder's pid, command and since-when only so the refusal can say who.
The file is never deleted: a new inode would be a second, independent lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from stagewise.errors import LockedError, MissingError

#: The locks this process holds now, by resolved lock-file path (for :func:`holds`).
_HELD: set[Path] = set()


def project_locks(root: Path) -> Path:
    """Where a project's env locks live."""
    return root / ".stagewise" / "locks"


def holds(locks_dir: Path, env: str) -> bool:
    """Whether this process holds ``env``'s lock right now (destructive data operations check it)."""
    return (locks_dir / f"{env}.lock").resolve() in _HELD


def _holder(path: Path) -> dict[str, object] | None:
    try:
        data: dict[str, object] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # being written, or left empty by a holder that finished
    return data


def _describe(env: str, holder: dict[str, object] | None) -> str:
    if holder is None:
        return f"{env} is locked by another stagewise process"
    return (
        f"{env} is locked by `{holder.get('command')}` (pid {holder.get('pid')}) since {holder.get('since')}"
    )


@contextmanager
def env_lock(locks_dir: Path, env: str, what: str, wait: float = 0.0) -> Iterator[None]:
    """Hold ``<locks_dir>/<env>.lock`` for the duration; wait up to ``wait`` seconds for it."""
    try:
        locks_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(locks_dir / f"{env}.lock", os.O_CREAT | os.O_RDWR, 0o644)  # not inherited by children
    except OSError as exc:
        raise MissingError(f"cannot open the lock file in {locks_dir}: {exc.strerror}") from exc
    path = locks_dir / f"{env}.lock"
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"{_describe(env, _holder(path))}: wait for it, or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        me = {
            "pid": os.getpid(),
            "command": what,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        held = path.resolve()
        _HELD.add(held)
        try:
            yield
        finally:
            _HELD.discard(held)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
