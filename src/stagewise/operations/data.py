"""``deploy ENV migrate | backup | restore`` as core entry points.

``migrate`` (an upgrade or downgrade) and ``restore`` on a protected stage
need the caller's confirmation; every operation that writes holds the env
lock; a verified backup is taken before migrate/restore on a protected stage
and a failed migration is put back from it (:mod:`stagewise.dataops.operations`).
Read-only modes (``--check``, ``--sql``, ``--history``, ``--list``) take
neither the lock nor a confirmation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from stagewise.backends.base import Backend, LineSink
from stagewise.dataops import operations
from stagewise.dataops.driver_errors import database_errors
from stagewise.dataops.lock import holds, project_locks
from stagewise.dataops.manifest import read_manifest
from stagewise.dataops.migrate import migrate_args
from stagewise.errors import UsageError
from stagewise.operations.deploy import backend_for
from stagewise.operations.policy import Confirm, Target, confirm_protected, guarded, refuse

MigrateMode = Literal["upgrade", "check", "sql", "history"]
BackupMode = Literal["backup", "list", "verify"]


@dataclass(frozen=True)
class MigrateRequest:
    target: Target
    mode: MigrateMode = "upgrade"
    to: str | None = None
    downgrade: str | None = None
    #: True when the caller holds the env lock already (a prestart migration inside ``up``)
    held_lock: bool = False


@dataclass(frozen=True)
class MigrateResult:
    """``revision``: where an upgrade left the database (or, for sql/check, where it is);
    ``output``: alembic's text (sql, history); ``pending``: False when ``--sql`` had nothing to print."""

    env: str
    mode: MigrateMode
    revision: str | None = None
    output: str = ""
    heads: tuple[str, ...] = ()
    pending: bool = True

    @property
    def at_head(self) -> bool:
        return self.revision in self.heads

    def record(self) -> dict[str, Any]:
        """``--check``: current revision, heads, at head (its JSON since before the envelope); else
        the env, the mode, the revision an upgrade left, and alembic's text (``sql``, ``history``)."""
        if self.mode == "check":
            return {"current": self.revision, "heads": list(self.heads), "at_head": self.at_head}
        record: dict[str, Any] = {
            "env": self.env,
            "mode": self.mode,
            "revision": self.revision,
            "output": self.output,
        }
        if self.mode == "sql":
            record["pending"] = self.pending
        return record


@dataclass(frozen=True)
class BackupRequest:
    target: Target
    mode: BackupMode = "backup"
    file: str | None = None  # --verify FILE (default: the newest valid backup)
    keep: int | None = None


@dataclass(frozen=True)
class BackupEntry:
    """One backup as ``--list`` shows it; ``problem`` is set when its manifest cannot be read."""

    name: str
    size: int = 0
    revision: str | None = None
    rows: int = 0
    problem: str = ""

    def record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BackupResult:
    env: str
    mode: BackupMode
    folder: Path
    path: Path | None = None
    backups: tuple[BackupEntry, ...] = ()

    def record(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "mode": self.mode,
            "folder": str(self.folder),
            "path": None if self.path is None else str(self.path),
            "backups": [b.record() for b in self.backups],
        }


@dataclass(frozen=True)
class RestoreRequest:
    target: Target
    file: str | None = None
    from_env: str | None = None


@dataclass(frozen=True)
class RestoreResult:
    """``safety``: the verified backup taken first on a protected stage."""

    env: str
    restored: Path
    safety: Path | None

    def record(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "restored": str(self.restored),
            "safety": None if self.safety is None else str(self.safety),
        }


def _app_backend(target: Target) -> Backend | None:
    """The backend that stops and starts ``data.app_services`` around a swap, when there are any."""
    return backend_for(target) if target.project.data.app_services else None


@contextlib.contextmanager
def _guarded_once(request: MigrateRequest, confirm: Confirm) -> Iterator[None]:
    """:func:`guarded`, or, for a caller that holds the env lock already (``deploy ENV up``'s
    prestart migration, ``held_lock=True``), the confirmation only: a second flock on the
    same file from the same process would wait for itself."""
    target = request.target
    if not request.held_lock:
        with guarded(target, "migrate", destructive="migrate its database", confirm=confirm):
            yield
        return
    if not holds(project_locks(target.project.root), target.stage):
        raise UsageError(f"held_lock=True, but this process does not hold the {target.stage} lock")
    confirm_protected(target, "migrate its database", confirm)
    yield


def migrate(request: MigrateRequest, say: LineSink, confirm: Confirm = refuse) -> MigrateResult:
    """Upgrade/downgrade (locked, confirmed on a protected stage), or a read-only look.

    This is the one guarded migration: ``deploy ENV migrate`` and a prestart step
    declared as a migration both call it (``MigrateRequest(target)``: upgrade to
    head; ``held_lock=True`` from inside ``up``, which holds the env lock). On a
    protected stage: a verified backup first, the data put back if alembic
    fails or migrates another database.
    """
    target = request.target
    stage = target.config
    if request.mode != "upgrade":
        data = operations.data_env(target.project, stage, target.env)
        if request.mode == "history":
            return MigrateResult(
                target.stage, "history", output=data.alembic.run("history", "--verbose").stdout
            )
        with database_errors():  # the revision is read with stagewise's own driver
            current = data.store.revision()
        heads = tuple(data.alembic.heads())
        if request.mode == "sql":
            # From where the database is, not from base: SQL for revisions it already has would
            # fail or, worse, run twice. At the target already, there is no SQL to print.
            target_revision = request.to or "head"
            at_target = target_revision == (current or "base") or (
                target_revision in ("head", "heads") and current in heads
            )
            if at_target:
                return MigrateResult(target.stage, "sql", revision=current, heads=heads, pending=False)
            args = migrate_args(request.to, None, sql=True, current=current)
            output = data.alembic.run(*args).stdout
            return MigrateResult(target.stage, "sql", revision=current, output=output, heads=heads)
        return MigrateResult(target.stage, "check", revision=current, heads=heads)
    with _guarded_once(request, confirm):
        data = operations.data_env(target.project, stage, target.env)
        backend = _app_backend(target)
        after = operations.migrate(data, say, to=request.to, downgrade=request.downgrade, backend=backend)
    return MigrateResult(target.stage, "upgrade", revision=after)


def backup(request: BackupRequest, say: LineSink) -> BackupResult:
    """Take a backup (locked, with ``keep`` retention), verify one (locked), or list them."""
    if request.keep is not None and request.keep < 1:
        raise UsageError("--keep must be at least 1")
    target = request.target
    stage = target.config
    if request.mode == "list":
        data = operations.data_env(target.project, stage, target.env)
        return BackupResult(target.stage, "list", data.backups, backups=tuple(_entries(data)))
    with guarded(target, "backup"):
        data = operations.data_env(target.project, stage, target.env)
        if request.mode == "verify":
            path = operations.choose_backup(data, request.file or None)
            operations.verify(data, path, say)
        else:
            path = operations.backup(data, say, keep=request.keep)
    return BackupResult(target.stage, request.mode, data.backups, path=path)


def _entries(data: operations.DataEnv) -> list[BackupEntry]:
    entries = []
    for path in operations.list_backups(data):
        try:
            m = read_manifest(path)
            entries.append(BackupEntry(path.name, m.size, m.revision, sum(m.tables.values())))
        except Exception as exc:  # a listing shows a broken manifest instead of failing
            entries.append(BackupEntry(path.name, problem=str(exc)))
    return entries


def restore(request: RestoreRequest, say: LineSink, confirm: Confirm = refuse) -> RestoreResult:
    """Atomically restore (confirmed on a protected stage, locked, with a verified backup first)."""
    target = request.target
    stage = target.config
    with guarded(target, "restore", destructive="restore its database", confirm=confirm):
        data = operations.data_env(target.project, stage, target.env)
        backend = _app_backend(target)
        path = operations.choose_backup(data, request.file)
        safety = operations.restore(data, path, backend, say, from_env=request.from_env)
    return RestoreResult(target.stage, path, safety)
