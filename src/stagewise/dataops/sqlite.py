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

from stagewise.errors import DeployError, MissingError

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
            except sqlite3.DatabaseError as exc:
                raise DeployError(f"{self.path} is not a SQLite database: {exc}") from exc
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

    def load_checked(self, backup: Path, method: str | None) -> tuple[str, dict[str, int], dict[str, str]]:
        """One file copy, then the hashing (SQLite has one method and loads in one step)."""
        scratch = self.load_scratch(backup)
        try:
            return scratch, *self.snapshot(scratch)
        except BaseException:
            self.discard(scratch)
            raise

    def load_scratch(self, backup: Path) -> str:
        scratch = self.path.with_name(f".{self.path.name}.restore-{os.urandom(4).hex()}")
        scratch.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(backup, scratch)
            with contextlib.closing(sqlite3.connect(scratch)) as db:
                result = db.execute("PRAGMA integrity_check").fetchone()
        except sqlite3.DatabaseError as exc:
            scratch.unlink(missing_ok=True)
            raise DeployError(f"{backup.name} is not a sound SQLite database: {exc}") from exc
        except BaseException:
            scratch.unlink(missing_ok=True)  # disk full, Ctrl+C: nothing left beside the live file
            raise
        if not result or result[0] != "ok":
            scratch.unlink(missing_ok=True)
            raise DeployError(f"{backup.name} is not a sound SQLite database: {result}")
        return str(scratch)

    def swap_in(self, scratch: str) -> None:
        """Copy the checked scratch over the live database in one SQLite transaction.

        Replacing the file would leave a running app on the old, unlinked inode
        (serving stale data and losing what it writes next). The backup API
        writes through SQLite's own locking and journal instead: every open
        connection sees the restored data, and a crash mid-copy rolls back.
        """
        if not self.path.exists():
            os.replace(scratch, self.path)  # nothing to replace and nobody has it open
            return
        try:
            with (
                contextlib.closing(sqlite3.connect(scratch)) as source,
                contextlib.closing(sqlite3.connect(self.path, timeout=60)) as live,
            ):
                source.backup(live)
        except sqlite3.Error as exc:
            raise DeployError(f"could not write the restored data into {self.path}: {exc}") from exc
        Path(scratch).unlink(missing_ok=True)

    def discard(self, scratch: str) -> None:
        Path(scratch).unlink(missing_ok=True)

    def drop_leftover_scratch(self) -> list[str]:
        """Scratch copies left beside the live file by an interrupted restore."""
        names = []
        for leftover in self.path.parent.glob(f".{self.path.name}.restore-*"):
            leftover.unlink(missing_ok=True)
            names.append(leftover.name)
        return names

    def tool_versions(self) -> dict[str, str]:
        return {"sqlite": sqlite3.sqlite_version}
