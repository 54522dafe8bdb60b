"""migrate, backup, verify and restore for one environment, with the design's safety rules.

- The checksum is checked before a restore touches anything.
- A restore loads into a scratch target, checks row counts and checksums
  against the manifest, stops the app services, swaps, and starts them again.
- On a protected stage a verified backup is taken before migrate or restore;
  a failed migration is put back from it, and the message says so.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stagewise import __version__
from stagewise.backends.base import Backend, DeployError
from stagewise.dataops.manifest import CorruptBackupError, Manifest, check_intact, sha256_of, write_manifest
from stagewise.dataops.migrate import Alembic, migrate_args
from stagewise.dataops.stores import Store, store_for
from stagewise.errors import MissingError, UsageError
from stagewise.project.data import expand
from stagewise.project.model import Project, StageConfig

Say = Callable[[str], None]


class VerifyError(DeployError):
    """A backup restored into a scratch target does not match its manifest (exit 1)."""


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
    """Resolve the stage's database URL (``data.urls`` or ``url_env``) and its store."""
    config = project.data
    template = config.urls.get(stage.name) or env.get(config.url_env)
    if not template:
        raise MissingError(
            f"no database for stage {stage.name}: set data.urls.{stage.name} in stagewise.toml "
            f"or {config.url_env} in its environment"
        )
    url = expand(template, env, str(project.root), stage.name)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{project.root / url[len('sqlite:///') :]}"
    alembic = Alembic(project.root, config.alembic_ini, {**env, config.url_env: url})
    service = config.containers.get(stage.name)
    container = _running_container(project, stage.name, service) if service else None
    return DataEnv(
        project,
        stage,
        url,
        store_for(url, container),
        project.root / config.backups_dir / stage.name,
        alembic,
    )


def _running_container(project: Project, stage: str, service: str) -> str:
    """The id of the env's running ``service`` container, found by its compose labels."""
    from stagewise.backends.compose import project_name, require_daemon

    require_daemon()
    compose_project = project_name(project.compose.project_prefix or project.name, stage)
    done = subprocess.run(
        [
            "docker",
            "ps",
            "-q",
            "--filter",
            f"label=com.docker.compose.project={compose_project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    ids = done.stdout.split()
    if done.returncode != 0 or not ids:
        raise MissingError(
            f"the {service} container of {stage} (compose project {compose_project}) is not running: "
            f"`stagewise deploy {stage} up -d` first"
        )
    return ids[0]


def list_backups(data: DataEnv) -> list[Path]:
    """This env's backups, newest first (those with a manifest)."""
    if not data.backups.is_dir():
        return []
    found = [p for p in data.backups.iterdir() if p.suffix in (".sqlite3", ".dump") and p.is_file()]
    return sorted(found, key=lambda p: p.name, reverse=True)


def backup(data: DataEnv, say: Say, keep: int | None = None) -> Path:
    """Dump the live database with a manifest; apply ``keep`` retention after."""
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
    )
    write_manifest(path, manifest)
    say(f"backup {path.name}: {manifest.size} bytes, {sum(counts.values())} rows in {len(counts)} tables")
    if keep is not None:
        for old in list_backups(data)[keep:]:
            old.unlink(missing_ok=True)
            old.with_name(old.name + ".json").unlink(missing_ok=True)
            say(f"removed {old.name} (keeping {keep})")
    return path


def verify(data: DataEnv, path: Path, say: Say) -> Manifest:
    """Restore into a scratch target and compare with the manifest; never touches live data."""
    manifest = check_intact(path)
    say(f"verifying {path.name}: restoring into a scratch target")
    scratch = data.store.load_scratch(path)
    try:
        _compare(manifest, *data.store.snapshot(scratch), path)
    finally:
        data.store.discard(scratch)
    say(f"{path.name} verified: {sum(manifest.tables.values())} rows in {len(manifest.tables)} tables match")
    return manifest


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
    from_env: str | None = None,
) -> Path | None:
    """Atomically replace the live database with ``path``; returns the safety backup taken first."""
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
    safety = None
    if data.stage.protected:
        safety = backup(data, say)
        verify(data, safety, say)
    leftover = getattr(data.store, "drop_leftover_scratch", None)
    if leftover is not None:
        for name in leftover():  # under the env lock, so no other restore owns them
            say(f"dropped {name}, left by an interrupted restore (it never held live data)")
    say(f"restoring {path.name} into a scratch target")
    scratch = data.store.load_scratch(path)
    try:
        _compare(manifest, *data.store.snapshot(scratch), path)
    except BaseException:
        data.store.discard(scratch)
        raise
    apps = list(data.project.data.app_services)
    stopped = backend.stop_services(apps) if backend is not None and apps else []
    if stopped:
        say(f"stopped {', '.join(stopped)} for the swap")
    try:
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


def migrate(
    data: DataEnv,
    say: Say,
    to: str | None = None,
    downgrade: str | None = None,
) -> str | None:
    """Run alembic; on a protected stage back up first and put the data back if it fails."""
    args = migrate_args(to, downgrade, sql=False, current=None)  # bad revisions fail before any work
    safety = None
    if data.stage.protected and data.store.exists():
        safety = backup(data, say)
        verify(data, safety, say)
    before = data.store.revision()
    say(f"alembic {' '.join(args)} on {data.store.describe()} (at {before or 'base'})")
    try:
        data.alembic.run(*args)
    except DeployError as exc:
        if safety is None:
            raise
        say(f"migration failed: {exc}; putting the data back from {safety.name}")
        restore(data, safety, None, say)
        raise DeployError(
            f"{exc}; the database was restored from the automatic backup {safety.name}"
        ) from exc
    after = data.store.revision()
    say(f"{data.stage.name} is at revision {after or 'base'} (was {before or 'base'})")
    return after
