"""The store interface every database kind implements for migrate/backup/restore.

A restore never writes into the live database: it loads the backup into a
scratch target (a file beside the live one, or a scratch database), checks it
against the manifest, and only then swaps it in in one atomic step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from stagewise.errors import UsageError


class Store(Protocol):
    """One database, addressed by URL."""

    kind: str
    ext: str

    def describe(self) -> str:
        """The database for messages, password masked."""
        ...

    def exists(self) -> bool:
        """False for a SQLite file nobody has created yet (a first migrate creates it)."""
        ...

    def revision(self) -> str | None:
        """The Alembic revision the database is at (None: not migrated)."""
        ...

    def dump(
        self, dest: Path, progress: Callable[[int], None] | None = None
    ) -> tuple[dict[str, int], dict[str, str]]:
        """Write a consistent backup to ``dest``; return its row counts and checksums per table."""
        ...

    def load_scratch(self, backup: Path) -> str:
        """Restore ``backup`` into a new scratch target; returns its handle."""
        ...

    def load_checked(self, backup: Path, method: str | None) -> tuple[str, dict[str, int], dict[str, str]]:
        """Restore ``backup`` into a new scratch target and count and hash its tables by ``method``.

        Returns the handle with the counts and checksums; a failure removes
        the target.
        """
        ...

    def snapshot(self, target: str | None = None) -> tuple[dict[str, int], dict[str, str]]:
        """Row counts and checksums per table of the live database or a scratch target."""
        ...

    def swap_in(self, scratch: str) -> None:
        """Atomically replace the live database with the scratch target."""
        ...

    def discard(self, scratch: str) -> None:
        """Remove a scratch target (idempotent)."""
        ...

    def drop_leftover_scratch(self) -> list[str]:
        """Remove scratch targets an interrupted restore or verify left; their names."""
        ...

    def tool_versions(self) -> dict[str, str]:
        """Versions of the tools that made a backup, for its manifest."""
        ...


def store_for(url: str, container: str | None = None) -> Store:
    """The store for a database URL: sqlite:/// or postgresql://."""
    if url.startswith("sqlite:///"):
        from stagewise.dataops.sqlite import SqliteStore

        return SqliteStore(Path(url[len("sqlite:///") :]))
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from stagewise.dataops.postgres import PostgresStore

        return PostgresStore(url, container)
    raise UsageError(
        f"unsupported database URL {url.split(':', 1)[0]}: stagewise handles sqlite and postgresql"
    )
