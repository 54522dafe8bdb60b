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
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from stagewise.cause import cause_line
from stagewise.dataops.pg_checksum import LEGACY_METHOD, METHODS, RECORD_METHOD, checksum_sql
from stagewise.dataops.pg_load import checked_load
from stagewise.errors import DeployError, MissingError
from stagewise.project.env import known_secrets, mask_text

_STATS_CONNECTIONS = 4  # at most this many tables checksummed (and restored) at once
_SWAP_ATTEMPTS = 10  # renames tried while reconnecting clients get in the way
_PROGRESS_EVERY = 3.0  # seconds between progress lines of a long dump
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# Background drops still running, held so they are not reported as leaked processes.
_DROPPING: list[subprocess.Popen[bytes]] = []
CHECKSUM_METHOD = RECORD_METHOD  # what backups write (pg_checksum says how each method hashes)


def _cause(text: str) -> str:
    """The line of a tool's stderr that names why it failed, secrets masked."""
    return mask_text(cause_line(text, "no message"), known_secrets())


def driver() -> ModuleType:
    """psycopg, from stagewise's own install (the ``postgres`` extra), or exit 4 saying where to get it.

    stagewise reads revisions, counts and checksums itself; the project's venv
    (where alembic runs) may well have a driver while stagewise's does not.
    """
    try:
        import psycopg
    except ImportError as exc:
        raise MissingError(
            f"psycopg is needed for PostgreSQL data commands (revisions, backups, checksums) and "
            f"stagewise's python cannot import it ({exc}): run "
            f"`{sys.executable} -m pip install 'stagewise[postgres]'`"
        ) from exc
    return psycopg


def _run_to_file(
    command: list[str], dest: Path, env: dict[str, str], progress: Callable[[int], None] | None
) -> tuple[int, str]:
    """Run ``command`` with stdout into ``dest``; report its size every few seconds while it runs."""
    with dest.open("wb") as out, tempfile.TemporaryFile() as errors:
        # Its own session: a Ctrl+C reaches only stagewise, which stops it (below) and cleans up.
        process = subprocess.Popen(command, stdout=out, stderr=errors, env=env, start_new_session=True)
        try:
            while True:
                try:
                    code = process.wait(timeout=_PROGRESS_EVERY)
                    break
                except subprocess.TimeoutExpired:
                    if progress is not None:
                        progress(dest.stat().st_size)
        except BaseException:
            process.kill()
            process.wait()
            raise
        errors.seek(0)
        return code, errors.read().decode(errors="replace")


def _restore_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, _STATS_CONNECTIONS))


def _snapshot_literal(snapshot_id: str) -> str:
    """Snapshot ids look like 00000003-0000001B-1; anything else never reaches SQL."""
    if not re.fullmatch(r"[0-9A-F]+(-[0-9A-F]+)+", snapshot_id):
        raise DeployError(f"unexpected snapshot id {snapshot_id!r}")
    return snapshot_id


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MissingError(f"{name} is not installed: apt-get install postgresql-client")
    return found


class PostgresStore:
    """A PostgreSQL database reached by URL from this host."""

    kind = "postgres"
    ext = "dump"
    #: What a new manifest's checksums are.
    checksum_method = CHECKSUM_METHOD
    #: The methods a restore can check; the last is what manifests without the field used.
    checksum_methods = METHODS

    def __init__(self, url: str, container: str | None = None) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://").replace(
            "postgres://", "postgresql://"
        )
        parts = urlsplit(self.url)
        self.database = parts.path.lstrip("/") or "postgres"
        if not _IDENT.match(self.database):
            raise DeployError(f"database name {self.database!r} is not a plain identifier")
        self.container = container
        # The password goes to the tools through PGPASSWORD, never on a command line (ps shows those).
        self._password = parts.password or ""
        user = parts.username or "postgres"
        if container is None:
            netloc = f"{user}@{parts.hostname or '127.0.0.1'}" + (f":{parts.port}" if parts.port else "")
        else:
            netloc = f"{user}@127.0.0.1:5432"  # inside the container, the server is local
        self._tool_base = urlunsplit(("postgresql", netloc, "", "", ""))

    def _tool_url(self, database: str) -> str:
        return f"{self._tool_base}/{database}"

    def _command(self, name: str, *args: str) -> list[str]:
        """pg_dump/pg_restore on this host, or the server's own inside its container."""
        if self.container is None:
            return [_tool(name), *args]
        return ["docker", "exec", "-i", "-e", "PGPASSWORD", self.container, name, *args]

    def _tool_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self._password:
            env["PGPASSWORD"] = self._password
        return env

    def describe(self) -> str:
        return mask_text(self.url, ())

    def _url_for(self, database: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))

    def _connect(self, database: str | None = None, autocommit: bool = True) -> Any:
        psycopg = driver()
        try:
            return psycopg.connect(
                self._url_for(database or self.database), autocommit=autocommit, connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            # A driver's message starts with its cause (what follows is DETAIL/HINT/LINE context).
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
            reason = mask_text(reason, known_secrets())
            raise MissingError(f"cannot connect to {self.describe()}: {reason}") from exc

    def end_sessions(self, application_name: str) -> None:
        """Terminate the sessions named ``application_name`` (a stopped migration's)."""
        with self._connect() as db:
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                (application_name,),
            )

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
        out = self._version()
        match = re.search(r"(\d+)\.", out)
        client = int(match.group(1)) if match else 0
        if client < server:
            raise MissingError(
                f"pg_dump {client} cannot dump a PostgreSQL {server} server: "
                f"install postgresql-client-{server}, or set data.containers.<stage> in stagewise.toml "
                "to run the server's own pg_dump inside its container"
            )

    def _version(self) -> str:
        done = subprocess.run(
            self._command("pg_dump", "--version"), capture_output=True, text=True, check=False, timeout=60
        )
        if done.returncode != 0:
            raise MissingError(f"pg_dump does not run{self._where()}: {_cause(done.stderr)}")
        return done.stdout.strip()

    def _where(self) -> str:
        return f" in container {self.container[:12]}" if self.container else ""

    def dump(
        self, dest: Path, progress: Callable[[int], None] | None = None
    ) -> tuple[dict[str, int], dict[str, str]]:
        """pg_dump streams to our file (so it can run in a container); progress every few seconds."""
        partial = dest.with_name(dest.name + ".partial")
        with self._connect(autocommit=False) as db:
            self._check_versions(db)
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot_id = str(db.execute("SELECT pg_export_snapshot()").fetchone()[0])
            command = self._command(
                "pg_dump",
                "--format=custom",
                f"--snapshot={snapshot_id}",
                "--no-owner",
                f"--dbname={self._tool_url(self.database)}",
            )
            # The manifest's counts and checksums read the same exported snapshot as
            # pg_dump, on other connections, while it runs: the manifest costs no extra time.
            with ThreadPoolExecutor(max_workers=1) as pool:
                stats = pool.submit(self._table_stats, self.database, snapshot_id)
                code, errors = _run_to_file(command, partial, self._tool_env(), progress)
                counts = stats.result()
            db.rollback()
        if code != 0:
            partial.unlink(missing_ok=True)
            raise DeployError(f"pg_dump failed{self._where()}: {_cause(errors)}")
        os.replace(partial, dest)
        return counts

    def _table_stats(
        self, database: str, snapshot_id: str | None = None, method: str = CHECKSUM_METHOD
    ) -> tuple[dict[str, int], dict[str, str]]:
        """Row count and checksum per table, tables read in parallel on their own connections."""
        with self._connect(database) as db:
            tables = [
                str(r[0])
                for r in db.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
                ).fetchall()
            ]
        workers = max(1, min(len(tables), os.cpu_count() or 1, _STATS_CONNECTIONS))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda t: self._one_table(database, t, snapshot_id, method), tables))
        return {t: n for t, n, _ in results}, {t: c for t, _, c in results}

    def _one_table(
        self, database: str, table: str, snapshot_id: str | None, method: str = CHECKSUM_METHOD
    ) -> tuple[str, int, str]:
        with self._connect(database, autocommit=False) as db:
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if snapshot_id is not None:
                db.execute(f"SET TRANSACTION SNAPSHOT '{_snapshot_literal(snapshot_id)}'")
            row = db.execute(checksum_sql(db, table, method)).fetchone()
            db.rollback()
        return table, int(row[0]), str(row[1])

    def snapshot(
        self, target: str | None = None, method: str | None = None
    ) -> tuple[dict[str, int], dict[str, str]]:
        return self._table_stats(target or self.database, method=method or CHECKSUM_METHOD)

    def load_checked(self, backup: Path, method: str | None) -> tuple[str, dict[str, int], dict[str, str]]:
        """Restore into a new scratch database, each table counted and hashed by ``method`` as it lands.

        Returns the scratch database with its counts and checksums; any
        failure drops it. In a container (the dump arrives on stdin, which
        cannot seek) the load is one ``pg_restore`` and the hashing follows it.
        """
        method = method or LEGACY_METHOD
        if self.container is not None:
            scratch = self.load_scratch(backup)
            try:
                return scratch, *self._table_stats(scratch, method=method)
            except BaseException:
                self.discard(scratch)
                raise
        scratch = self._scratch_name()
        command = self._command(
            "pg_restore", "--no-owner", "--exit-on-error", f"--dbname={self._tool_url(scratch)}"
        )
        with self._connect("postgres") as admin:
            admin.execute(f'CREATE DATABASE "{scratch}"')
        try:
            counts, checksums = checked_load(
                command,
                self._tool_env(),
                backup,
                jobs=_restore_jobs(),
                catalog=lambda: self._catalog(scratch),
                hash_table=lambda table: self._one_table(scratch, table, None, method)[1:],
                cause=_cause,
            )
        except BaseException:
            self.discard(scratch)
            raise
        return scratch, counts, checksums

    def _catalog(self, database: str) -> tuple[list[str], set[str]]:
        """Public tables, and those whose rows other data entries may bring (hashed after all data)."""
        with self._connect(database) as db:
            rows = db.execute(
                "SELECT c.relname, c.relkind = 'p' OR c.relispartition "
                "OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
            ).fetchall()
        return [str(r[0]) for r in rows], {str(r[0]) for r in rows if r[1]}

    def _scratch_name(self) -> str:
        return f"{self.database[:40]}_restore_{os.urandom(4).hex()}"

    def load_scratch(self, backup: Path) -> str:
        scratch = self._scratch_name()
        # The scratch database is the transaction: it is swapped in only when complete
        # and checked, and dropped otherwise, so pg_restore may load tables in parallel.
        # The command is resolved first, so a missing pg_restore creates nothing.
        args = ["--no-owner", "--exit-on-error", f"--dbname={self._tool_url(scratch)}"]
        if self.container is None:
            command = self._command("pg_restore", *args, f"--jobs={_restore_jobs()}", str(backup))
        else:
            command = self._command("pg_restore", *args)  # reads the file from stdin
        with self._connect("postgres") as admin:
            admin.execute(f'CREATE DATABASE "{scratch}"')
        try:
            with backup.open("rb") as source:
                done = subprocess.run(
                    command,
                    stdin=source if self.container else subprocess.DEVNULL,
                    capture_output=True,
                    env=self._tool_env(),
                    check=False,
                    start_new_session=True,  # a second Ctrl+C must not kill a put-back half-way
                )
        except BaseException:
            self.discard(scratch)
            raise
        if done.returncode != 0:
            self.discard(scratch)
            reason = _cause(done.stderr.decode(errors="replace"))
            raise DeployError(f"pg_restore into a scratch database failed{self._where()}: {reason}")
        return scratch

    def swap_in(self, scratch: str) -> None:
        """Rename live -> old and scratch -> live in one transaction, then drop old.

        Renaming needs the database to have no sessions; a client that
        reconnects between the terminate and the rename makes the rename fail
        (and the transaction roll back, changing nothing), so it is retried.
        """
        psycopg = driver()
        old = f"{self.database[:40]}_old_{os.urandom(4).hex()}"
        for attempt in range(1, _SWAP_ATTEMPTS + 1):
            try:
                with self._connect("postgres", autocommit=False) as admin:
                    admin.execute(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                        "WHERE datname IN (%s, %s) AND pid <> pg_backend_pid()",
                        (self.database, scratch),
                    )
                    admin.execute(f'ALTER DATABASE "{self.database}" RENAME TO "{old}"')
                    admin.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{self.database}"')
                    admin.commit()
                break
            except psycopg.errors.ObjectInUse as exc:
                if attempt == _SWAP_ATTEMPTS:
                    raise DeployError(
                        f"{self.database} kept getting new connections during the swap "
                        f"({_SWAP_ATTEMPTS} attempts); nothing was changed: stop its clients "
                        "(data.app_services) and restore again"
                    ) from exc
                time.sleep(0.1 * attempt)
        self._drop_later(old)

    def _drop_later(self, old: str) -> None:
        """Drop the replaced database off the critical path: a detached ``dropdb``.

        The name is its own journal: ``<db>_old_<hex>`` exists only after a
        committed swap (it holds data the swap already replaced), so if the
        drop never finishes, the next restore or verify drops it
        (:meth:`drop_leftover_scratch`). Without ``dropdb``, it is dropped here.
        """
        try:
            _DROPPING[:] = [p for p in _DROPPING if p.poll() is None]
            _DROPPING.append(
                subprocess.Popen(
                    self._command(
                        "dropdb",
                        "--if-exists",
                        "--force",
                        f"--maintenance-db={self._tool_url('postgres')}",
                        old,
                    ),
                    env=self._tool_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,  # outlives stagewise; a Ctrl+C does not reach it
                )
            )
        except (OSError, MissingError):
            self.discard(old)

    def discard(self, scratch: str) -> None:
        if not _IDENT.match(scratch):
            raise DeployError(f"refusing to drop {scratch!r}: not a plain identifier")
        with self._connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')

    def drop_leftover_scratch(self) -> list[str]:
        """Scratch databases left by an interrupted restore, and replaced ones a background drop missed.

        Neither holds live data: a ``_restore_`` one was never swapped in, an
        ``_old_`` one was swapped out by a committed restore.
        """
        with self._connect("postgres") as admin:
            rows = admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
                (f"{self.database[:40]}_restore_%", f"{self.database[:40]}_old_%"),
            ).fetchall()
        prefix = re.escape(self.database[:40])
        leftover = re.compile(f"^{prefix}_(restore|old)_[0-9a-f]{{8}}$")
        names = [str(r[0]) for r in rows if leftover.match(str(r[0]))]
        for name in names:
            self.discard(name)
        return names

    def tool_versions(self) -> dict[str, str]:
        with self._connect() as db:
            server = str(db.execute("SHOW server_version").fetchone()[0])
        versions = {"pg_dump": self._version(), "server": server}
        if self.container:
            versions["pg_dump_ran_in"] = f"container {self.container[:12]}"
        return versions
