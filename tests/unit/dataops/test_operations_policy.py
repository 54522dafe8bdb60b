"""migrate, backup and restore through the core: refused, locked, or not reachable at all.

Real SQLite files; the app service around a restore is a FakeBackend. A
refusing callback must leave the database byte for byte as it was, with no
backup taken; a library call of the dataops functions without the lock is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagewise.dataops import operations as dataops
from stagewise.dataops.lock import env_lock, project_locks
from stagewise.errors import LockedError, UsageError
from stagewise.operations import data
from stagewise.operations.policy import Target, agree, refuse
from stagewise.project.loader import load_project
from stagewise.project.model import Project
from tests.fakes import FakeBackend, registered_fake

TOML = """
[project]
name = "dataops"

[data]
app_services = ["app"]

[data.urls]
dev = "sqlite:///{root}/dev.db"
prod = "sqlite:///{root}/prod.db"
"""


@pytest.fixture
def fake() -> Iterator[type[FakeBackend]]:
    with registered_fake() as backend:
        yield backend


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "stagewise.toml").write_text(TOML)
    for stage in ("dev", "prod"):
        with sqlite3.connect(tmp_path / f"{stage}.db") as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            db.executemany("INSERT INTO t (v) VALUES (?)", [(f"{stage}{i}",) for i in range(5)])
        db.close()
    return load_project(tmp_path)


def target(project: Project, stage: str) -> Target:
    return Target(project, stage, {}, backend="fake")


def quiet(_line: str) -> None:
    return None


def snapshot(project: Project, stage: str) -> bytes:
    return (project.root / f"{stage}.db").read_bytes()


def test_migrate_on_a_protected_stage_with_a_refusing_callback_does_nothing(
    project: Project, fake: type[FakeBackend]
) -> None:
    before = snapshot(project, "prod")
    with pytest.raises(UsageError, match="not confirmed: nothing done on prod"):
        data.migrate(data.MigrateRequest(target(project, "prod")), quiet, refuse)
    assert snapshot(project, "prod") == before
    assert not (project.root / "backups").exists()  # not even the automatic backup
    assert fake.state_of(project.root, "prod") is None


def test_restore_on_a_protected_stage_with_a_refusing_callback_does_nothing(
    project: Project, fake: type[FakeBackend]
) -> None:
    taken = data.backup(data.BackupRequest(target(project, "prod")), quiet).path
    assert taken is not None
    with sqlite3.connect(project.root / "prod.db") as db:
        db.execute("DELETE FROM t")
    db.close()
    before = snapshot(project, "prod")
    with pytest.raises(UsageError, match="not confirmed: nothing done on prod"):
        data.restore(data.RestoreRequest(target(project, "prod"), str(taken)), quiet, refuse)
    assert snapshot(project, "prod") == before
    assert list((project.root / "backups" / "prod").glob("*.sqlite3")) == [taken]
    assert fake.state_of(project.root, "prod") is None


def test_a_confirmed_restore_backs_up_first_and_swaps_under_the_lock(
    project: Project, fake: type[FakeBackend]
) -> None:
    taken = data.backup(data.BackupRequest(target(project, "prod")), quiet).path
    with sqlite3.connect(project.root / "prod.db") as db:
        db.execute("DELETE FROM t")
    db.close()
    from stagewise.operations import deploy

    deploy.up(deploy.UpRequest(target(project, "prod"), detach=True), quiet)
    result = data.restore(data.RestoreRequest(target(project, "prod"), str(taken)), quiet, agree)
    assert result.restored == taken
    assert result.safety is not None
    assert result.safety.is_file()
    with sqlite3.connect(project.root / "prod.db") as db:
        assert db.execute("SELECT count(*) FROM t").fetchone() == (5,)
    db.close()
    state = fake.state_of(project.root, "prod")
    assert state is not None
    assert state.calls == [("up", True), ("stop_services", True), ("start_services", True)]


@pytest.mark.parametrize("operation", ["migrate", "backup", "restore"])
def test_destructive_operations_meet_the_lock(
    project: Project, fake: type[FakeBackend], operation: str
) -> None:
    before = snapshot(project, "dev")
    calls = {
        "migrate": lambda t: data.migrate(data.MigrateRequest(t), quiet, agree),
        "backup": lambda t: data.backup(data.BackupRequest(t), quiet),
        "restore": lambda t: data.restore(data.RestoreRequest(t), quiet, agree),
    }
    with (
        env_lock(project_locks(project.root), "dev", "stagewise deploy dev migrate"),
        pytest.raises(LockedError, match="locked by `stagewise deploy dev migrate`"),
    ):
        calls[operation](target(project, "dev"))
    assert snapshot(project, "dev") == before
    assert not (project.root / "backups").exists()


def test_a_library_call_without_the_lock_is_refused(project: Project, fake: type[FakeBackend]) -> None:
    before = snapshot(project, "prod")
    env = dataops.data_env(project, project.stages["prod"], {})
    with pytest.raises(UsageError, match="migrate on prod needs the env lock"):
        dataops.migrate(env, quiet)
    with pytest.raises(UsageError, match="backup on prod needs the env lock"):
        dataops.backup(env, quiet)
    with pytest.raises(UsageError, match="restore on prod needs the env lock"):
        dataops.restore(env, project.root / "prod.db", None, quiet)
    assert snapshot(project, "prod") == before
    assert not (project.root / "backups").exists()


def test_backup_list_is_read_only_and_verify_is_locked(project: Project, fake: type[FakeBackend]) -> None:
    taken = data.backup(data.BackupRequest(target(project, "dev"), keep=2), quiet).path
    assert taken is not None
    with env_lock(project_locks(project.root), "dev", "someone"):
        listed = data.backup(data.BackupRequest(target(project, "dev"), "list"), quiet)
        with pytest.raises(LockedError):
            data.backup(data.BackupRequest(target(project, "dev"), "verify"), quiet)
    assert [(e.name, e.rows, e.problem) for e in listed.backups] == [(taken.name, 5, "")]
    verified = data.backup(data.BackupRequest(target(project, "dev"), "verify"), quiet)
    assert verified.path == taken


def test_keep_below_one_is_a_usage_error(project: Project) -> None:
    with pytest.raises(UsageError, match="--keep must be at least 1"):
        data.backup(data.BackupRequest(Target(project, "dev"), keep=0), quiet)


def test_a_migration_inside_a_held_lock_does_not_wait_for_itself(
    project: Project, fake: type[FakeBackend]
) -> None:
    """``deploy ENV up`` holds the lock while its prestart migration runs: ``held_lock=True``."""
    from stagewise.errors import MissingError

    request = data.MigrateRequest(target(project, "prod"), held_lock=True)
    with pytest.raises(UsageError, match="this process does not hold the prod lock"):
        data.migrate(request, quiet, agree)
    with env_lock(project_locks(project.root), "prod", "stagewise deploy prod up"):
        with pytest.raises(UsageError, match="not confirmed: nothing done on prod"):
            data.migrate(request, quiet, refuse)
        # Past the lock and the confirmation, into the migration itself (this project has no alembic).
        with pytest.raises(MissingError, match=r"alembic\.ini does not exist"):
            data.migrate(request, quiet, agree)
