"""migrate, backup, verify and restore for one environment, with the design's safety rules.

- The checksum is checked before a restore touches anything.
- A restore loads into a scratch target, checks row counts and checksums
  against the manifest, stops the app services, swaps, and starts them again.
- On a protected stage a verified backup is taken before migrate or restore;
  a failed migration is put back from it, and the message says so.
- ``backup``, ``restore`` and ``migrate`` refuse to run unless this process
  holds the env's lock: call them through :mod:`stagewise.operations`, which
  takes it and asks for confirmation on protected stages first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stagewise import __version__
from stagewise.backends.base import Backend
from stagewise.dataops.driver_errors import database_errors
from stagewise.dataops.lock import holds, project_locks
from stagewise.dataops.manifest import (
    Manifest,
    check_intact,
    read_manifest,
    sha256_of,
    write_manifest,
)
from stagewise.dataops.migrate import Alembic, expected_revisions, migrate_args, with_timeouts
from stagewise.dataops.stores import Store, store_for
from stagewise.errors import CorruptBackupError, DeployError, MissingError, UsageError, VerifyError
from stagewise.interrupts import interrupt_once
from stagewise.project.data import mapped_env, stage_url
from stagewise.project.env import mask_url_password
from stagewise.project.interpreter import project_python
from stagewise.project.model import Project, StageConfig

Say = Callable[[str], None]


@dataclass(frozen=True)
class DataEnv:
    """One environment's data: its store, its backups folder, how to migrate it."""

    project: Project
    stage: StageConfig
    url: str
    store: Store
    backups: Path
    alembic: Alembic


def data_env(project: Project, stage: StageConfig, env: Mapping[str, str]) -> DataEnv:
    """Resolve the stage's database URL (``data.urls`` or ``url_env``), its store and its alembic.

    Alembic runs in ``project.python`` with what the project's settings need
    at import: the stage's environment, the env of the stage's local services
    (a ``SECRET_KEY`` a settings module insists on), then the URL in ``url_env``
    and its parts in ``[data.env]``, which win: the database migrated must be
    the one backed up.
    """
    config = project.data
    url = stage_url(config, project.root, stage.name, env)
    if not url:
        raise MissingError(
            f"no database for stage {stage.name}: set data.urls.{stage.name} in stagewise.toml "
            f"or {config.url_env} in its environment"
        )
    python = project_python(project)
    child = {**env, **_service_env(project, stage, python), config.url_env: url, **mapped_env(config, url)}
    # [data.gate] lock_timeout / statement_timeout hold for every migration, not only the gate's.
    child = with_timeouts(child, config.gate.lock_timeout, config.gate.statement_timeout)
    service = config.containers.get(stage.name)
    container = _running_container(project, stage, env, service) if service else None
    store = store_for(url, container)
    alembic = Alembic(project.root, config.alembic_ini, child, python, getattr(store, "end_sessions", None))
    return DataEnv(
        project,
        stage,
        url,
        store,
        project.root / config.backups_dir / stage.name,
        alembic,
    )


def _service_env(project: Project, stage: StageConfig, python: str) -> dict[str, str]:
    """The ``env`` of the stage's local services (``data.app_services`` first), placeholders filled."""
    services = [s for s in project.services.values() if s.runs_in(stage.name)]
    apps = [s for s in services if s.name in project.data.app_services] or services
    state_dir = project.root / ".stagewise" / stage.name
    merged: dict[str, str] = {}
    for service in apps:
        port = service.port_for(stage.name)
        values = {
            "{stage}": stage.name,
            "{port}": "" if port is None else str(port),
            "{root}": str(project.root),
            "{state_dir}": str(state_dir),
            "{python}": python,
        }
        for name, template in service.env.items():
            filled = template
            for key, value in values.items():
                filled = filled.replace(key, value)
            merged[name] = filled
    return merged


def _running_container(project: Project, stage: StageConfig, env: Mapping[str, str], service: str) -> str:
    """The id of the env's running ``service`` container (the compose backend finds it)."""
    from stagewise.backends.compose import ComposeBackend
    from stagewise.backends.registry import make_backend

    if stage.backend == "swarm":
        # The database service's running task on this node (the swarm backend finds it).
        swarm = make_backend(project, stage, env)
        return str(getattr(swarm, "container")(service))  # noqa: B009 - the swarm backend's own method
    backend = make_backend(project, stage, env, "compose")
    assert isinstance(backend, ComposeBackend)  # noqa: S101 - make_backend(..., "compose") builds one
    return backend.container(service)


def _require_lock(data: DataEnv, what: str) -> None:
    """Destructive operations run only under the env lock (that is, through stagewise.operations)."""
    if not holds(project_locks(data.project.root), data.stage.name):
        raise UsageError(
            f"{what} on {data.stage.name} needs the env lock: call it through stagewise.operations, "
            "which takes the lock and applies the stage policy"
        )


def list_backups(data: DataEnv) -> list[Path]:
    """This env's backups, newest first (those with a manifest)."""
    if not data.backups.is_dir():
        return []
    found = [p for p in data.backups.iterdir() if p.suffix in (".sqlite3", ".dump") and p.is_file()]
    return sorted(found, key=lambda p: p.name, reverse=True)


def backup(data: DataEnv, say: Say, keep: int | None = None) -> Path:
    """Dump the live database with a manifest; apply ``keep`` retention after (under the env lock)."""
    _require_lock(data, "backup")
    with database_errors():
        return _backup(data, say, keep)


def _backup(data: DataEnv, say: Say, keep: int | None) -> Path:
    revision = data.store.revision()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    data.backups.mkdir(parents=True, exist_ok=True)
    path = data.backups / f"{stamp}-{revision or 'base'}.{data.store.ext}"
    say(f"backing up {data.store.describe()} (revision {revision or 'none'}) to {path}")
    counts, checksums = data.store.dump(path, lambda size: say(f"  {size / 1e6:,.1f} MB written"))
    manifest = Manifest(
        file=path.name,
        sha256=sha256_of(path),
        size=path.stat().st_size,
        store=data.store.kind,
        env=data.stage.name,
        revision=revision,
        tables=counts,
        checksums=checksums,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tools={**data.store.tool_versions(), "stagewise": __version__},
        checksum_method=getattr(data.store, "checksum_method", None),
    )
    write_manifest(path, manifest)
    say(f"backup {path.name}: {manifest.size} bytes, {sum(counts.values())} rows in {len(counts)} tables")
    if keep is not None:
        _prune(data, keep, say)
    return path


def _prune(data: DataEnv, keep: int, say: Say) -> None:
    """Keep the ``keep`` newest backups that look whole; older ones go.

    A backup whose manifest is missing or whose size disagrees with it does
    not count towards ``keep`` (it could not be restored), so a run of broken
    backups never pushes the last good ones out. Broken ones are left for a
    person to look at. (Size, not sha256: hashing every backup on every run
    would cost more than the backup.)
    """
    whole = 0
    for candidate in list_backups(data):
        try:
            looks_whole = read_manifest(candidate).size == candidate.stat().st_size
        except (CorruptBackupError, OSError):
            looks_whole = False
        if not looks_whole:
            continue
        whole += 1
        if whole > keep:
            candidate.unlink(missing_ok=True)
            candidate.with_name(candidate.name + ".json").unlink(missing_ok=True)
            say(f"removed {candidate.name} (keeping {keep})")


def verify(data: DataEnv, path: Path, say: Say) -> Manifest:
    """Restore into a scratch target and compare with the manifest; never touches live data."""
    with database_errors():
        return _verify(data, path, say)


def _verify(data: DataEnv, path: Path, say: Say) -> Manifest:
    manifest = check_intact(path)
    method = method_for(data, manifest, path)
    _sweep_leftovers(data, say)
    say(f"verifying {path.name}: restoring into a scratch target")
    scratch, counts, checksums = data.store.load_checked(path, method)
    try:
        _compare(manifest, counts, checksums, path)
    finally:
        data.store.discard(scratch)
    say(f"{path.name} verified: {sum(manifest.tables.values())} rows in {len(manifest.tables)} tables match")
    return manifest


def method_for(data: DataEnv, manifest: Manifest, path: Path) -> str | None:
    """The checksum method to check ``manifest`` with, refused before any work if unknown.

    A store lists the methods it computes (``checksum_methods``, newest first;
    the last is what manifests without the field used); a store without the
    list has one method and writes none.
    """
    methods: tuple[str, ...] = getattr(data.store, "checksum_methods", ())
    wanted = manifest.checksum_method or (methods[-1] if methods else None)
    if wanted is not None and wanted not in methods:
        raise VerifyError(
            f"{path.name}'s checksums were made with {wanted}, which this stagewise does not compute "
            f"({', '.join(methods) or 'its original method'}): upgrade stagewise to restore it"
        )
    return wanted


def _compare(manifest: Manifest, counts: dict[str, int], checksums: dict[str, str], path: Path) -> None:
    if counts != manifest.tables:
        diff = sorted(
            f"{t}: {manifest.tables.get(t)} -> {counts.get(t)}"
            for t in set(counts) | set(manifest.tables)
            if counts.get(t) != manifest.tables.get(t)
        )
        raise VerifyError(
            f"{path.name} does not restore to what was backed up: row counts differ ({'; '.join(diff)})"
        )
    bad = sorted(t for t in manifest.checksums if checksums.get(t) != manifest.checksums[t])
    if bad:
        raise VerifyError(
            f"{path.name} does not restore to what was backed up: checksums differ in {', '.join(bad)}"
        )


def choose_backup(data: DataEnv, file: str | None) -> Path:
    """``--file`` or the newest backup of this env whose checksum holds."""
    if file:
        return Path(file).resolve()
    for candidate in list_backups(data):
        with contextlib.suppress(CorruptBackupError):
            check_intact(candidate)
            return candidate
    raise MissingError(
        f"no valid backup of {data.stage.name} in {data.backups}: run `deploy {data.stage.name} backup`"
    )


def restore(
    data: DataEnv,
    path: Path,
    backend: Backend | None,
    say: Say,
    *,
    from_env: str | None = None,
    safety_backup: bool = True,
) -> Path | None:
    """Atomically replace the live database with ``path``; returns the safety backup taken first.

    ``safety_backup=False`` is for putting back the backup a failed migration
    was guarded by: backing up the half-migrated database first could fail
    and stop the put-back that matters. Runs only under the env lock.
    """
    _require_lock(data, "restore")
    with database_errors():
        manifest = check_intact(path)
        if manifest.env not in (data.stage.name, from_env):
            raise UsageError(
                f"{path.name} is a backup of {manifest.env}, not {data.stage.name}: "
                f"pass --from-env {manifest.env} to restore it here on purpose"
            )
        if manifest.store != data.store.kind:
            raise UsageError(
                f"{path.name} is a {manifest.store} backup; {data.stage.name} uses {data.store.kind}"
            )
        known = data.alembic.known_revisions() if manifest.revision is not None else set()
        if manifest.revision is not None and manifest.revision not in known:
            raise DeployError(
                f"{path.name} is at schema revision {manifest.revision}, which this code does not know "
                f"(known: {', '.join(sorted(known))}): refusing to restore"
            )
        method = method_for(data, manifest, path)
        safety = None
        if data.stage.protected and safety_backup:
            if data.store.exists():
                safety = backup(data, say)
                verify(data, safety, say)
            else:
                say(f"{data.store.describe()} does not exist: nothing to back up before the restore")
        _sweep_leftovers(data, say)
        say(f"restoring {path.name} into a scratch target")
        # Each table is counted and hashed as soon as its data is in, while others still load.
        scratch, counts, checksums = data.store.load_checked(path, method)
        apps = list(data.project.data.app_services)
        stopped: list[str] = []
        # From the first Ctrl+C on, later ones are not delivered: the scratch target is
        # dropped and stopped app services are started again, whatever the user presses.
        with interrupt_once():
            try:
                _compare(manifest, counts, checksums, path)
                if backend is not None and apps:
                    stopped = list(backend.stop_services(apps))
                    if stopped:
                        say(f"stopped {', '.join(stopped)} for the swap")
                data.store.swap_in(scratch)
            except BaseException:
                data.store.discard(scratch)
                raise
            finally:
                if backend is not None and stopped:
                    backend.start_services(stopped, say)
                    say(f"started {', '.join(stopped)} again")
        say(f"{data.stage.name} restored from {path.name} (revision {manifest.revision})")
        return safety


def _check_moved(
    data: DataEnv, before: str | None, after: str | None, expected: set[str | None] | None
) -> None:
    """Alembic said it migrated; the database stagewise protects must say so too.

    Its ``alembic_version`` is read over the stage's URL with stagewise's own
    driver, not through alembic: a project whose ``env.py`` builds its URL
    from other variables migrates another database and still exits 0.
    """
    if expected is not None and after in expected:
        return
    if after != before:
        if expected is None:
            return  # a relative step (+1, -1) moved it: that is what was asked
        wanted = ", ".join(sorted(r or "base" for r in expected))
        raise DeployError(
            f"alembic finished, but {mask_url_password(data.url)} is at {after or 'base'}, not {wanted}"
        )
    config = data.project.data
    names = ", ".join([config.url_env, *config.env])
    raise DeployError(
        f"alembic reported success, but {mask_url_password(data.url)} did not move "
        f"(still at {before or 'base'}): does env.py read {names}? it migrated some other database; "
        "map the URL's parts into the variables your settings read with [data.env] in stagewise.toml"
    )


def _sweep_leftovers(data: DataEnv, say: Say) -> None:
    """Scratch targets of an interrupted restore or verify; under the env lock no one owns them."""
    for name in data.store.drop_leftover_scratch():
        if "_old_" in name[len(name) - 13 :]:
            say(f"dropped {name}, the database an earlier restore replaced (not live data)")
        else:
            say(f"dropped {name}, left by an interrupted restore (it never held live data)")


def migrate(
    data: DataEnv,
    say: Say,
    to: str | None = None,
    downgrade: str | None = None,
    backend: Backend | None = None,
) -> str | None:
    """Run alembic; on a protected stage back up first and put the data back if it fails.

    Anything that stops the migration (its error, a timeout, Ctrl+C) puts the
    data back, since alembic may have committed some revisions already.
    """
    args = migrate_args(to, downgrade, sql=False, current=None)  # bad revisions fail before any work
    _require_lock(data, "migrate")
    with database_errors():
        heads = data.alembic.heads() if args[1] in ("head", "heads") else []
    expected = expected_revisions(args, heads)
    return guarded_migration(
        data,
        say,
        f"alembic {' '.join(args)}",
        lambda: data.alembic.run(*args),
        check=lambda before: _check_moved(data, before, data.store.revision(), expected),
        backend=backend,
    )


def guarded_migration(
    data: DataEnv,
    say: Say,
    what: str,
    action: Callable[[], object],
    *,
    check: Callable[[str | None], None] | None = None,
    backend: Backend | None = None,
) -> str | None:
    """The guard every migration runs under (alembic or a project's own migration command).

    On a protected stage a verified backup comes first; anything that stops
    ``action`` or fails ``check`` (an error, a timeout, Ctrl+C) puts the data
    back from it, since some revisions may already be committed. The caller
    holds the env lock. Returns the revision the database ends at.
    """
    with database_errors():
        safety = None
        if data.stage.protected and data.store.exists():
            safety = backup(data, say)
            verify(data, safety, say)
        before = data.store.revision()
        say(f"{what} on {data.store.describe()} (at {before or 'base'})")
        # From the first Ctrl+C on, later ones are not delivered: the put-back below runs whole.
        with interrupt_once():
            try:
                action()
                if check is not None:
                    check(before)
            except BaseException as exc:
                if safety is None:
                    raise
                why = "was interrupted" if isinstance(exc, KeyboardInterrupt) else f"failed: {exc}"
                say(f"migration {why}; putting the data back from {safety.name}")
                restore(data, safety, backend, say, safety_backup=False)
                if isinstance(exc, DeployError):
                    raise DeployError(
                        f"{exc}; the database was restored from the automatic backup {safety.name}"
                    ) from exc
                raise
        after = data.store.revision()
        say(f"{data.stage.name} is at revision {after or 'base'} (was {before or 'base'})")
        return after
