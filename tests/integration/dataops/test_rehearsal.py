"""The rehearsal's scratch copy and lock sampler on the real PostgreSQL, without alembic."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import psycopg
import pytest

from stagewise.dataops import operations
from stagewise.dataops.lock import env_lock, project_locks
from stagewise.dataops.rehearsal import LockSampler, rehearsal_backup, scratch_copy
from stagewise.project.loader import load_project
from tests.conftest import ProjectFactory, requires

pytestmark = [
    pytest.mark.postgres,
    requires(shutil.which("pg_dump") is not None, "pg_dump and pg_restore (postgresql-client)"),
]


def _databases(url: str) -> list[str]:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url) as db:
        return [
            str(r[0])
            for r in db.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}_%",))
        ]


def test_the_scratch_copy_is_verified_and_dropped_even_when_the_body_fails(
    make_project: ProjectFactory, pg_database: str
) -> None:
    with psycopg.connect(pg_database) as db:
        db.execute("CREATE TABLE items (id BIGINT PRIMARY KEY)")
        db.execute("INSERT INTO items SELECT generate_series(1, 50)")
    root: Path = make_project({"stagewise.toml": f'[data]\n[data.urls]\ndev = "{pg_database}"\n'})
    project = load_project(root)
    data = operations.data_env(project, project.stages["dev"], {})
    lines: list[str] = []
    with env_lock(project_locks(root), "dev", "test", 0.0):
        backup = rehearsal_backup(data, None, lines.append)  # none yet: one is taken
        assert any("taking one for the rehearsal" in line for line in lines)
        assert rehearsal_backup(data, None, lines.append) == backup  # now it is reused
    seen: list[tuple[list[str], object, bool]] = []

    def rehearse_and_fail() -> None:
        with scratch_copy(data, backup, lines.append) as scratch:
            with psycopg.connect(scratch.url) as db:
                count = db.execute("SELECT count(*) FROM items").fetchone()
            seen.append(([scratch.name], count, scratch.alembic.env["DATABASE_URL"] == scratch.url))
            assert _databases(pg_database) == [scratch.name]
            raise RuntimeError("planted")

    with pytest.raises(RuntimeError, match="planted"):
        rehearse_and_fail()
    assert len(seen) == 1
    assert seen[0][1:] == ((50,), True)
    assert _databases(pg_database) == []
    assert any("verified (50 rows in 1 tables)" in line for line in lines), lines


def test_the_sampler_reports_the_strongest_lock_a_table_took(pg_database: str) -> None:
    with psycopg.connect(pg_database) as db:
        db.execute("CREATE TABLE items (id BIGINT PRIMARY KEY)")
    release = threading.Event()

    def hold() -> None:
        with psycopg.connect(pg_database) as db:
            db.execute("SELECT * FROM items")
            db.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
            release.wait(5)

    holder = threading.Thread(target=hold)
    with LockSampler(pg_database) as sampler:
        holder.start()
        time.sleep(0.5)
        release.set()
        holder.join()
    assert sampler.locks() == ("items: AccessExclusiveLock",)
