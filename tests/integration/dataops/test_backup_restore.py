"""Backups and restores against real SQLite and the real PostgreSQL, through the CLI.

Round trips are compared row by row; corrupt or foreign backups must leave the
live data exactly as it was.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stagewise.dataops.lock import env_lock
from tests.conftest import ProjectFactory
from tests.helpers import cli_env, run_cli

pytestmark = pytest.mark.postgres

PG_SCHEMA = """
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, note text, balance numeric(12,2),
                        created timestamptz DEFAULT now(), tags jsonb);
CREATE TABLE blobs (id bigserial PRIMARY KEY, data bytea, label varchar(40));
"""


def pg_fill(url: str, tables: int = 8, rows: int = 200) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(PG_SCHEMA)
        for i in range(rows):
            db.execute(
                "INSERT INTO customers (name, note, balance, tags) VALUES (%s, %s, %s, %s)",
                (f"Zoë {i} ✓ 日本", None if i % 3 == 0 else f"note {i}", i * 1.25, json.dumps({"i": i})),
            )
        db.execute(
            "INSERT INTO blobs (data, label) VALUES (%s, 'big'), (NULL, 'null'), ('', 'empty')",
            (os.urandom(2_000_000),),
        )
        for t in range(tables):
            db.execute(f"CREATE TABLE extra_{t} (id serial PRIMARY KEY, v text)")
            db.execute(
                f"INSERT INTO extra_{t} (v) SELECT md5(g::text) FROM generate_series(1, {10 * (t + 1)}) g"
            )


def pg_rows(url: str) -> dict[str, list[Any]]:
    with psycopg.connect(url) as db:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema='public' ORDER BY 1"
            ).fetchall()
        ]
        return {t: db.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}


def project_for(make_project: ProjectFactory, stage_urls: dict[str, str], extra: str = "") -> Path:
    urls = "\n".join(f'{stage} = "{url}"' for stage, url in stage_urls.items())
    return make_project({"stagewise.toml": f"[data]\n[data.urls]\n{urls}\n{extra}"})


def test_postgres_round_trip_row_by_row(make_project: ProjectFactory, pg_database: str) -> None:
    pg_fill(pg_database)
    root = project_for(make_project, {"dev": pg_database})
    before = pg_rows(pg_database)
    done = run_cli("deploy", "dev", "backup", cwd=root)
    assert done.returncode == 0, done.stderr
    backup = Path(done.stdout.strip().splitlines()[-1])
    manifest = json.loads(backup.with_name(backup.name + ".json").read_text())
    assert manifest["tables"]["customers"] == 200
    assert manifest["store"] == "postgres"
    assert set(manifest) >= {"sha256", "size", "revision", "tables", "checksums", "tools", "created_at"}
    verify = run_cli("deploy", "dev", "backup", "--verify", cwd=root)
    assert verify.returncode == 0, verify.stderr
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("DELETE FROM customers WHERE id > 10")
        db.execute("UPDATE blobs SET data = NULL")
        db.execute("DROP TABLE extra_3")
    restored = run_cli("deploy", "dev", "restore", cwd=root)
    assert restored.returncode == 0, restored.stderr
    assert pg_rows(pg_database) == before
    with psycopg.connect(pg_database, autocommit=True) as db:
        new_id = db.execute("INSERT INTO customers (name) VALUES ('after') RETURNING id").fetchone()[0]
    assert new_id == 201, "sequences must continue after a restore"


def test_sqlite_round_trip_row_by_row(make_project: ProjectFactory, tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    with sqlite3.connect(live) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, b BLOB, n REAL)")
        db.executemany(
            "INSERT INTO t (s, b, n) VALUES (?, ?, ?)",
            [("ünïcødé ✓" * i, os.urandom(i * 1000) if i % 2 else None, i / 3) for i in range(300)],
        )
        for k in range(10):
            db.execute(f"CREATE TABLE extra_{k} (v TEXT)")
            db.execute(f"INSERT INTO extra_{k} VALUES ('{k}')")
    before = sqlite3.connect(live).execute("SELECT * FROM t ORDER BY id").fetchall()
    root = project_for(make_project, {"dev": f"sqlite:///{live}"})
    assert run_cli("deploy", "dev", "backup", cwd=root).returncode == 0
    with sqlite3.connect(live) as db:
        db.execute("DELETE FROM t")
        db.execute("DROP TABLE extra_4")
    done = run_cli("deploy", "dev", "restore", cwd=root)
    assert done.returncode == 0, done.stderr
    assert sqlite3.connect(live).execute("SELECT * FROM t ORDER BY id").fetchall() == before
    assert sqlite3.connect(live).execute("SELECT v FROM extra_4").fetchall() == [("4",)]


def test_corrupt_or_truncated_backups_are_refused_and_data_untouched(
    make_project: ProjectFactory, pg_database: str
) -> None:
    pg_fill(pg_database, tables=1, rows=20)
    root = project_for(make_project, {"dev": pg_database})
    backup = Path(run_cli("deploy", "dev", "backup", cwd=root).stdout.strip().splitlines()[-1])
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("INSERT INTO customers (name) VALUES ('written after the backup')")
    before = pg_rows(pg_database)
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.write_bytes(bytes(data))
    corrupt = run_cli("deploy", "dev", "restore", "--file", str(backup), cwd=root)
    assert corrupt.returncode == 1
    assert "fails its sha256 check" in corrupt.stderr
    backup.write_bytes(bytes(data[: len(data) // 2]))
    truncated = run_cli("deploy", "dev", "restore", "--file", str(backup), cwd=root)
    assert truncated.returncode == 1
    assert "truncated or altered" in truncated.stderr
    verify = run_cli("deploy", "dev", "backup", "--verify", str(backup), cwd=root)
    assert verify.returncode == 1
    assert pg_rows(pg_database) == before


def test_restore_killed_half_way_leaves_live_data_as_it_was(
    make_project: ProjectFactory, pg_database: str
) -> None:
    pg_fill(pg_database, tables=2, rows=50)
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute(
            "CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 20) AS v FROM generate_series(1, 400000) g"
        )
    root = project_for(make_project, {"dev": pg_database})
    assert run_cli("deploy", "dev", "backup", cwd=root).returncode == 0
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("DELETE FROM customers WHERE id <= 5")
    before = pg_rows(pg_database)
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "dev", "restore"],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    name = pg_database.rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        while not admin.execute(
            "SELECT 1 FROM pg_database WHERE datname LIKE %s", (f"{name}_restore_%",)
        ).fetchone():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert pg_rows(pg_database) == before, "a killed restore changed the live database"
    again = run_cli("deploy", "dev", "restore", cwd=root)
    assert again.returncode == 0, again.stderr
    assert "left by an interrupted restore" in again.stdout


def test_backup_from_another_env_needs_from_env(make_project: ProjectFactory, tmp_path: Path) -> None:
    prod_db, staging_db = tmp_path / "prod.db", tmp_path / "staging.db"
    for path, rows in ((prod_db, 5), (staging_db, 2)):
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (v INTEGER)")
            db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(rows)])
    root = project_for(make_project, {"prod": f"sqlite:///{prod_db}", "staging": f"sqlite:///{staging_db}"})
    backup = Path(run_cli("deploy", "prod", "backup", cwd=root).stdout.strip().splitlines()[-1])
    refused = run_cli("deploy", "staging", "restore", "--file", str(backup), cwd=root)
    assert refused.returncode == 2
    assert "is a backup of prod, not staging: pass --from-env prod" in refused.stderr
    assert sqlite3.connect(staging_db).execute("SELECT count(*) FROM t").fetchone()[0] == 2
    allowed = run_cli("deploy", "staging", "restore", "--file", str(backup), "--from-env", "prod", cwd=root)
    assert allowed.returncode == 0, allowed.stderr
    assert sqlite3.connect(staging_db).execute("SELECT count(*) FROM t").fetchone()[0] == 5


def test_protected_stage_refuses_restore_and_migrate_without_yes(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    live = tmp_path / "prod.db"
    with sqlite3.connect(live) as db:
        db.execute("CREATE TABLE t (v INTEGER)")
    root = project_for(make_project, {"prod": f"sqlite:///{live}"})
    assert run_cli("deploy", "prod", "backup", cwd=root).returncode == 0
    for command in ("restore", "migrate"):
        done = run_cli("deploy", "prod", command, cwd=root)
        assert done.returncode == 2
        assert f"prod is protected: refusing to {command} its database without --yes" in done.stderr


def test_retention_and_list(make_project: ProjectFactory, tmp_path: Path) -> None:
    live = tmp_path / "dev.db"
    with sqlite3.connect(live) as db:
        db.execute("CREATE TABLE t (v INTEGER)")
    root = project_for(make_project, {"dev": f"sqlite:///{live}"})
    for _ in range(4):
        assert run_cli("deploy", "dev", "backup", "--keep", "2", cwd=root).returncode == 0
    assert len(list((root / "backups" / "dev").glob("*.sqlite3"))) == 2
    listing = run_cli("deploy", "dev", "backup", "--list", cwd=root)
    assert listing.stdout.count(".sqlite3") == 2


def test_two_operations_meet_the_lock(make_project: ProjectFactory, tmp_path: Path) -> None:
    live = tmp_path / "dev.db"
    with sqlite3.connect(live) as db:
        db.execute("CREATE TABLE t (v INTEGER)")
    root = project_for(make_project, {"dev": f"sqlite:///{live}"})
    with env_lock(root / ".stagewise" / "locks", "dev", "stagewise deploy dev restore (test)"):
        blocked = run_cli("deploy", "dev", "backup", cwd=root)
    assert blocked.returncode == 1
    assert "dev is locked by `stagewise deploy dev restore (test)`" in blocked.stderr
    assert "since" in blocked.stderr
    stale = root / ".stagewise" / "locks" / "dev.lock"
    stale.write_text(json.dumps({"pid": 2**22 + 7, "start_ticks": 1, "command": "dead", "since": "then"}))
    assert run_cli("deploy", "dev", "backup", cwd=root).returncode == 0, "a stale lock must be taken over"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from stagewise.dataops.lock import env_lock\n"
            f"with env_lock(Path({str(root)!r}) / '.stagewise' / 'locks', 'dev', 'holder'):\n"
            "    print('held', flush=True); time.sleep(2)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    waited = run_cli("deploy", "dev", "backup", "--wait", "20", cwd=root)
    holder.communicate(timeout=30)
    assert waited.returncode == 0, waited.stderr


def test_sqlite_restore_reaches_connections_that_stay_open(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    """An app holding the database open sees the restored data, and what it writes next is kept."""
    live = tmp_path / "app.db"
    app = sqlite3.connect(live, isolation_level=None)
    app.execute("PRAGMA journal_mode=WAL")
    app.execute("CREATE TABLE t (v TEXT)")
    app.execute("INSERT INTO t VALUES ('before the backup')")
    root = project_for(make_project, {"dev": f"sqlite:///{live}"})
    assert run_cli("deploy", "dev", "backup", cwd=root).returncode == 0
    app.execute("INSERT INTO t VALUES ('after the backup')")
    done = run_cli("deploy", "dev", "restore", cwd=root)
    assert done.returncode == 0, done.stderr
    assert app.execute("SELECT v FROM t").fetchall() == [("before the backup",)]
    app.execute("INSERT INTO t VALUES ('written by the app after the restore')")
    app.close()
    with sqlite3.connect(live) as fresh:
        assert fresh.execute("SELECT v FROM t ORDER BY rowid").fetchall() == [
            ("before the backup",),
            ("written by the app after the restore",),
        ]
    assert not list(tmp_path.glob(".app.db.restore-*"))


def test_prod_restore_with_yes_backs_up_first_and_recovers_a_lost_database(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    live = tmp_path / "prod.db"
    with sqlite3.connect(live) as db:
        db.execute("CREATE TABLE t (v INTEGER)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(7)])
    root = project_for(make_project, {"prod": f"sqlite:///{live}"})
    first = Path(run_cli("deploy", "prod", "backup", cwd=root).stdout.strip().splitlines()[-1])
    with sqlite3.connect(live) as db:
        db.execute("DELETE FROM t WHERE v > 2")
    done = run_cli("deploy", "prod", "restore", "--file", str(first), "--yes", cwd=root)
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    assert "verified" in said
    assert "the data as it was before is kept in" in said
    safety = [p for p in (root / "backups" / "prod").glob("*.sqlite3") if p != first]
    assert len(safety) == 1
    assert json.loads(safety[0].with_name(safety[0].name + ".json").read_text())["tables"]["t"] == 3
    assert sqlite3.connect(live).execute("SELECT count(*) FROM t").fetchone()[0] == 7

    live.unlink()  # disaster: the database is gone; the restore must still be possible
    recovered = run_cli("deploy", "prod", "restore", "--yes", cwd=root)  # newest: the safety backup
    assert recovered.returncode == 0, recovered.stderr
    assert "does not exist: nothing to back up before the restore" in recovered.stdout + recovered.stderr
    assert sqlite3.connect(live).execute("SELECT count(*) FROM t").fetchone()[0] == 3


def test_postgres_swap_survives_clients_that_keep_reconnecting(
    make_project: ProjectFactory, pg_database: str
) -> None:
    import threading

    pg_fill(pg_database, tables=1, rows=30)
    root = project_for(make_project, {"dev": pg_database})
    assert run_cli("deploy", "dev", "backup", cwd=root).returncode == 0
    before = pg_rows(pg_database)
    stop = threading.Event()
    connected = [0]

    def pester() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(pg_database, connect_timeout=2) as db:
                    db.execute("SELECT 1")
                    connected[0] += 1
            except psycopg.Error:
                pass

    clients = [threading.Thread(target=pester) for _ in range(3)]
    for client in clients:
        client.start()
    try:
        done = run_cli("deploy", "dev", "restore", cwd=root)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=10)
    assert connected[0] > 0, "the clients must really have been connecting"
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert pg_rows(pg_database) == before


def test_verify_without_pg_restore_creates_no_scratch_database(
    make_project: ProjectFactory, pg_database: str, tmp_path: Path
) -> None:
    pg_fill(pg_database, tables=1, rows=5)
    root = project_for(make_project, {"dev": pg_database})
    assert run_cli("deploy", "dev", "backup", cwd=root).returncode == 0
    bare = tmp_path / "bin"
    bare.mkdir()
    done = run_cli("deploy", "dev", "backup", "--verify", cwd=root, env={"PATH": str(bare)})
    assert done.returncode == 4, done.stderr
    assert "pg_restore is not installed" in done.stderr
    name = pg_database.rsplit("/", 1)[1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as admin:
        assert not admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}_restore_%",)
        ).fetchall()


def test_retention_never_counts_broken_backups(make_project: ProjectFactory, tmp_path: Path) -> None:
    live = tmp_path / "dev.db"
    with sqlite3.connect(live) as db:
        db.execute("CREATE TABLE t (v INTEGER)")
    root = project_for(make_project, {"dev": f"sqlite:///{live}"})
    good = Path(run_cli("deploy", "dev", "backup", cwd=root).stdout.strip().splitlines()[-1])
    broken = []
    for _ in range(2):
        made = Path(run_cli("deploy", "dev", "backup", cwd=root).stdout.strip().splitlines()[-1])
        made.write_bytes(made.read_bytes()[:100])  # truncated: it could never be restored
        broken.append(made)
    done = run_cli("deploy", "dev", "backup", "--keep", "2", cwd=root)
    assert done.returncode == 0, done.stderr
    newest = Path(done.stdout.strip().splitlines()[-1])
    assert good.exists(), "the older good backup is one of the 2 whole ones and must stay"
    assert newest.exists()
    assert all(b.exists() for b in broken), "broken backups are left for a person to look at"
    done = run_cli("deploy", "dev", "backup", "--keep", "1", cwd=root)
    assert not good.exists()
    assert "removed" in done.stdout + done.stderr
