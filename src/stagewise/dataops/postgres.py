"""PostgreSQL: pg_dump custom format from one snapshot, restore into a scratch database.

The dump and the manifest's row counts come from the same exported snapshot,
so they agree even while the app writes. A restore goes into
``<db>_restore_<hex>``, is checked, and is swapped in by renaming both
databases in one transaction.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from stagewise.backends.base import DeployError
from stagewise.errors import MissingError
from stagewise.project.env import mask_url_password

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MissingError(f"{name} is not installed: apt-get install postgresql-client")
    return found


class PostgresStore:
    """A PostgreSQL database reached by URL from this host."""

    kind = "postgres"
    ext = "dump"

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://").replace(
            "postgres://", "postgresql://"
        )
        parts = urlsplit(self.url)
        self.database = parts.path.lstrip("/") or "postgres"
        if not _IDENT.match(self.database):
            raise DeployError(f"database name {self.database!r} is not a plain identifier")

    def describe(self) -> str:
        return mask_url_password(self.url)

    def _url_for(self, database: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))

    def _connect(self, database: str | None = None, autocommit: bool = True) -> Any:
        import psycopg

        try:
            return psycopg.connect(
                self._url_for(database or self.database), autocommit=autocommit, connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
            raise MissingError(f"cannot connect to {self.describe()}: {reason}") from exc

    def exists(self) -> bool:
        return True  # the server owns the database; connecting says whether it is there

    def revision(self) -> str | None:
        with self._connect() as db:
            exists = db.execute("SELECT to_regclass('public.alembic_version')").fetchone()[0]
            if exists is None:
                return None
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None

    def _check_versions(self, db: Any) -> None:
        server = int(db.execute("SHOW server_version_num").fetchone()[0]) // 10000
        out = subprocess.run(
            [_tool("pg_dump"), "--version"], capture_output=True, text=True, check=False
        ).stdout
        match = re.search(r"(\d+)\.", out)
        client = int(match.group(1)) if match else 0
        if client < server:
            raise MissingError(
                f"pg_dump {client} cannot dump a PostgreSQL {server} server: "
                f"install postgresql-client-{server} (or run the backup inside the database container)"
            )

    def dump(self, dest: Path) -> tuple[dict[str, int], dict[str, str]]:
        partial = dest.with_name(dest.name + ".partial")
        with self._connect(autocommit=False) as db:
            self._check_versions(db)
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot_id = db.execute("SELECT pg_export_snapshot()").fetchone()[0]
            counts = self._snapshot_on(db)
            done = subprocess.run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    f"--snapshot={snapshot_id}",
                    "--no-owner",
                    f"--file={partial}",
                    f"--dbname={self.url}",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            db.rollback()
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise DeployError(f"pg_dump failed: {mask_url_password(done.stderr.strip()[-300:])}")
        os.replace(partial, dest)
        return counts

    def _snapshot_on(self, db: Any) -> tuple[dict[str, int], dict[str, str]]:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            ).fetchall()
        ]
        counts: dict[str, int] = {}
        checksums: dict[str, str] = {}
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            row = db.execute(
                f"SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), '')) "  # noqa: S608
                f"FROM public.{quoted} AS t"
            ).fetchone()
            counts[table] = int(row[0])
            checksums[table] = str(row[1])
        return counts, checksums

    def snapshot(self, target: str | None = None) -> tuple[dict[str, int], dict[str, str]]:
        with self._connect(target) as db:
            return self._snapshot_on(db)

    def load_scratch(self, backup: Path) -> str:
        scratch = f"{self.database[:40]}_restore_{os.urandom(4).hex()}"
        with self._connect("postgres") as admin:
            admin.execute(f'CREATE DATABASE "{scratch}"')
        done = subprocess.run(
            [
                _tool("pg_restore"),
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={self._url_for(scratch)}",
                str(backup),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            self.discard(scratch)
            raise DeployError(f"pg_restore into a scratch database failed: {done.stderr.strip()[-300:]}")
        return scratch

    def swap_in(self, scratch: str) -> None:
        old = f"{self.database[:40]}_old_{os.urandom(4).hex()}"
        with self._connect("postgres", autocommit=False) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname IN (%s, %s) AND pid <> pg_backend_pid()",
                (self.database, scratch),
            )
            admin.execute(f'ALTER DATABASE "{self.database}" RENAME TO "{old}"')
            admin.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{self.database}"')
            admin.commit()
        self.discard(old)

    def discard(self, scratch: str) -> None:
        if not _IDENT.match(scratch):
            raise DeployError(f"refusing to drop {scratch!r}: not a plain identifier")
        with self._connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')

    def drop_leftover_scratch(self) -> list[str]:
        """Scratch databases left by an interrupted restore; they never held live data."""
        with self._connect("postgres") as admin:
            rows = admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
                (f"{self.database[:40]}_restore_%", f"{self.database[:40]}_old_%"),
            ).fetchall()
        names = [str(r[0]) for r in rows if r[0].startswith(self.database[:40] + "_restore_")]
        for name in names:
            self.discard(name)
        return names

    def tool_versions(self) -> dict[str, str]:
        out = subprocess.run([_tool("pg_dump"), "--version"], capture_output=True, text=True, check=False)
        with self._connect() as db:
            server = str(db.execute("SHOW server_version").fetchone()[0])
        return {"pg_dump": out.stdout.strip(), "server": server}
