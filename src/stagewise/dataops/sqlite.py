"""SQLite: online backup API for consistent copies, file swap for atomic restores."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from stagewise.backends.base import DeployError
from stagewise.errors import MissingError

_PAGES_PER_STEP = 4096  # ~16 MB per step at the default page size: the app's writers get turns


def _pages_progress(report: Callable[[int], None] | None) -> Callable[[int, int, int], None] | None:
    """sqlite3's backup progress (pages) as bytes written, at most every few seconds."""
    if report is None:
        return None
    last = [time.monotonic()]

    def step(_status: int, remaining: int, total: int) -> None:
        if time.monotonic() - last[0] >= 3.0:
            last[0] = time.monotonic()
            report((total - remaining) * 4096)

    return step


class SqliteStore:
    """A SQLite database file."""

    kind = "sqlite"
    ext = "sqlite3"

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"sqlite:///{self.path}"

    def _connect(self, path: Path, readonly: bool = True) -> sqlite3.Connection:
        if not path.is_file():
            raise MissingError(f"database {path} does not exist: start the environment or run migrate first")
        mode = "ro" if readonly else "rw"
        return sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=30)

    def exists(self) -> bool:
        return self.path.is_file()

    def revision(self) -> str | None:
        if not self.exists():
            return None  # no database yet: base, and a first migrate creates it
        with contextlib.closing(self._connect(self.path)) as db:
            try:
                row = db.execute("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.OperationalError:
                return None
        return str(row[0]) if row else None

    def dump(
        self, dest: Path, progress: Callable[[int], None] | None = None
    ) -> tuple[dict[str, int], dict[str, str]]:
        """The online backup API copies a consistent state even while the app writes."""
        partial = dest.with_name(dest.name + ".partial")
        with (
            contextlib.closing(self._connect(self.path)) as src,
            contextlib.closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst, pages=_PAGES_PER_STEP, progress=_pages_progress(progress))
        counts = self.snapshot(str(partial))
        os.replace(partial, dest)
        return counts

    def snapshot(self, target: str | None = None) -> tuple[dict[str, int], dict[str, str]]:
        path = Path(target) if target else self.path
        counts: dict[str, int] = {}
        checksums: dict[str, str] = {}
        with contextlib.closing(self._connect(path)) as db:
            tables = [
                r[0]
                for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            for table in tables:
                quoted = '"' + table.replace('"', '""') + '"'
                digest = hashlib.sha256()
                count = 0
                for row in db.execute(f"SELECT * FROM {quoted} ORDER BY 1"):  # noqa: S608 - quoted identifier
                    digest.update(repr(row).encode())
                    count += 1
                counts[table] = count
                checksums[table] = digest.hexdigest()
        return counts, checksums

    def load_scratch(self, backup: Path) -> str:
        scratch = self.path.with_name(f".{self.path.name}.restore-{os.urandom(4).hex()}")
        scratch.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(backup, scratch)
        with contextlib.closing(sqlite3.connect(scratch)) as db:
            result = db.execute("PRAGMA integrity_check").fetchone()
        if not result or result[0] != "ok":
            scratch.unlink(missing_ok=True)
            raise DeployError(f"{backup.name} is not a sound SQLite database: {result}")
        return str(scratch)

    def swap_in(self, scratch: str) -> None:
        for suffix in ("-wal", "-shm", "-journal"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        os.replace(scratch, self.path)

    def discard(self, scratch: str) -> None:
        Path(scratch).unlink(missing_ok=True)

    def tool_versions(self) -> dict[str, str]:
        return {"sqlite": sqlite3.sqlite_version}
