"""A migration rehearsed on a scratch copy of the live database, never on the live one.

The copy is restored from the newest backup at the live revision (taken first
when there is none) into a scratch database of the same server, checked
against the backup's manifest (row counts and checksums: a backup that was
never restored is not trusted), migrated with the stage's own alembic and
timeouts, and dropped afterwards whatever happens: an error, a timeout,
Ctrl+C. While alembic runs, ``pg_locks`` of the scratch database is sampled,
so the locks each step took are reported by table and mode.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from stagewise.dataops import operations
from stagewise.dataops.manifest import check_intact
from stagewise.dataops.migrate import Alembic
from stagewise.dataops.postgres import PostgresStore, driver
from stagewise.errors import CorruptBackupError, StagewiseError, VerifyError
from stagewise.interrupts import interrupt_once
from stagewise.project.data import mapped_env

Say = Callable[[str], None]
_SAMPLE_S = 0.01
#: PostgreSQL's table lock modes, weakest first: a table's strongest one is reported.
_MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
_LOCKS_SQL = (
    "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
    "WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.pid <> pg_backend_pid() AND l.granted AND c.relnamespace = 'public'::regnamespace "
    # tables only (an index is locked with its table), and not alembic's own bookkeeping
    "AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'"
)


@dataclass(frozen=True)
class Scratch:
    """A scratch copy: its database name, its URL, and alembic pointed at it."""

    name: str
    url: str
    alembic: Alembic


def rehearsal_backup(data: operations.DataEnv, revision: str | None, say: Say) -> Path:
    """The newest intact backup at ``revision`` (the live one); one is taken when there is none.

    A backup at another revision would rehearse another migration. Taking one
    needs the env lock, which the gate's caller holds.
    """
    for candidate in operations.list_backups(data):
        with contextlib.suppress(CorruptBackupError):
            if check_intact(candidate).revision == revision:
                return candidate
    say(f"no backup of {data.stage.name} at revision {revision or 'base'}: taking one for the rehearsal")
    return operations.backup(data, say)


def _url_for(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@contextlib.contextmanager
def scratch_copy(data: operations.DataEnv, backup: Path, say: Say) -> Iterator[Scratch]:
    """Restore ``backup`` into a scratch database, check it against its manifest, yield it, drop it."""
    store = data.store
    if not isinstance(store, PostgresStore):  # the gate says "not applicable" before this
        raise VerifyError(f"a rehearsal needs PostgreSQL; {store.describe()} is {store.kind}")
    manifest = check_intact(backup)
    say(f"rehearsal: restoring {backup.name} into a scratch database")
    method = operations.method_for(data, manifest, backup)
    name, counts, checksums = store.load_checked(backup, method)
    try:
        if counts != manifest.tables or checksums != manifest.checksums:
            raise VerifyError(f"{backup.name} does not restore to what was backed up: not rehearsing on it")
        url = _url_for(data.url, name)
        config = data.project.data
        env = {**data.alembic.env, config.url_env: url, **mapped_env(config, url)}
        say(f"rehearsal: {name} verified ({sum(counts.values())} rows in {len(counts)} tables)")
        yield Scratch(name, url, Alembic(data.alembic.root, data.alembic.ini, env, data.alembic.python))
    finally:
        # From the first Ctrl+C on, later ones are not delivered: the scratch database is dropped.
        with interrupt_once():
            store.discard(name)
        say(f"rehearsal: dropped {name}")


class LockSampler:
    """Samples ``pg_locks`` of one database on its own connection while a step runs."""

    def __init__(self, url: str) -> None:
        self._url = url.replace("postgresql+psycopg://", "postgresql://")
        self._stop = threading.Event()
        self._seen: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        psycopg = driver()
        try:
            with psycopg.connect(self._url, autocommit=True, connect_timeout=10) as db:
                while not self._stop.is_set():
                    for table, mode in db.execute(_LOCKS_SQL).fetchall():
                        rank = _MODES.index(mode) if mode in _MODES else 0
                        self._seen[str(table)] = max(rank, self._seen.get(str(table), 0))
                    self._stop.wait(_SAMPLE_S)
        except psycopg.Error:
            return  # the database is being dropped, or went away: what was seen stands

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def locks(self) -> tuple[str, ...]:
        """``"items: AccessExclusiveLock"`` per table touched, strongest mode seen, by name."""
        return tuple(f"{table}: {_MODES[rank]}" for table, rank in sorted(self._seen.items()))


@dataclass(frozen=True)
class StepRun:
    seconds: float
    locks: tuple[str, ...]
    error: StagewiseError | None


def run_step(scratch: Scratch, *args: str) -> StepRun:
    """One alembic command on the scratch copy, timed, its locks sampled; its error returned, not raised."""
    started = time.monotonic()
    error: StagewiseError | None = None
    with LockSampler(scratch.url) as sampler:
        try:
            scratch.alembic.run(*args)
        except StagewiseError as exc:
            error = exc
    return StepRun(time.monotonic() - started, sampler.locks(), error)
