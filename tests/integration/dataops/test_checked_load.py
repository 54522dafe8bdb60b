"""The checked load and its row hash, against the real PostgreSQL.

Tables are hashed while others still load (pg_load), with the typed row hash
(pg_checksum). What must hold: every change a restore could bring in (a
changed value, a lost or duplicated row, values swapped between rows) changes
a table's checksum; a dump whose data does not match its manifest, or whose
data breaks half-way through the load, is refused before the swap with the
live data as it was; tables whose rows other entries bring (inheritance,
partitions) are hashed only once all data is in.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
import pytest

from stagewise.dataops.pg_checksum import LEGACY_METHOD, RECORD_METHOD
from stagewise.dataops.postgres import PostgresStore
from tests.conftest import ProjectFactory
from tests.helpers import run_cli
from tests.integration.dataops.test_backup_restore import pg_fill, pg_rows, project_for

pytestmark = pytest.mark.postgres

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TYPES = """
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE TABLE mixed (id int PRIMARY KEY, amount numeric, ratio float8, at timestamptz, day date,
                    name text COLLATE "C", code varchar(8), raw bytea, doc json, tags text[],
                    how mood, uid uuid, flag bool);
INSERT INTO mixed SELECT g, g * 1.5, g / 3.0, '2026-01-01'::timestamptz + g * interval '1 hour',
       '2026-01-01'::date + g, 'name ' || g, 'c' || g, decode(md5(g::text), 'hex'),
       json_build_object('g', g), ARRAY['a', g::text], 'calm', md5(g::text)::uuid, g % 2 = 0
  FROM generate_series(1, 40) g;
"""
CHANGES = [
    "UPDATE mixed SET amount = 3.00 WHERE id = 2",  # numeric 3.0 -> 3.00: equal, but not the same value
    "UPDATE mixed SET ratio = ratio + 1e-12 WHERE id = 5",
    "UPDATE mixed SET at = at + interval '1 microsecond' WHERE id = 7",
    "UPDATE mixed SET name = 'Name 9' WHERE id = 9",  # case only
    "UPDATE mixed SET doc = '{\"g\":11}' WHERE id = 11",  # json keeps its text as written
    "UPDATE mixed SET raw = NULL WHERE id = 12",
    "UPDATE mixed SET tags = ARRAY['a', 'b'] WHERE id = 13",
    "UPDATE mixed SET how = 'busy' WHERE id = 14",
    "UPDATE mixed SET flag = NOT flag WHERE id = 15",
    # values swapped between two rows: the same multiset of values per column
    "UPDATE mixed SET code = CASE id WHEN 20 THEN 'c21' ELSE 'c20' END WHERE id IN (20, 21)",
    # a row lost and another duplicated: the same count
    "ALTER TABLE mixed DROP CONSTRAINT mixed_pkey; DELETE FROM mixed WHERE id = 30; "
    "INSERT INTO mixed SELECT * FROM mixed WHERE id = 31",
]


@pytest.mark.parametrize("method", [RECORD_METHOD, LEGACY_METHOD])
@pytest.mark.parametrize("change", CHANGES)
def test_every_kind_of_change_changes_the_checksum(pg_database: str, change: str, method: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute(TYPES)
    store = PostgresStore(pg_database)
    counts, before = store.snapshot(method=method)
    assert store.snapshot(method=method) == (counts, before), "a checksum must not depend on anything else"
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute(change)
    after_counts, after = store.snapshot(method=method)
    assert after_counts == counts
    assert after["mixed"] != before["mixed"], change


def _backup(root: Path) -> Path:
    done = run_cli("deploy", "dev", "backup", cwd=root)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def _adopt(manifest_of: Path, dump: Path) -> None:
    """Give ``dump`` the manifest of another backup, its own size and sha256 written in.

    What a dump that changed before its manifest was written looks like: the
    file checks out, its data does not.
    """
    import hashlib

    manifest = json.loads(manifest_of.with_name(manifest_of.name + ".json").read_text())
    manifest |= {"file": dump.name, "size": dump.stat().st_size}
    manifest["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    dump.with_name(dump.name + ".json").write_text(json.dumps(manifest))


def _scratch_left(database_url: str) -> list[str]:
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}_restore_%",))
        return [r[0] for r in rows.fetchall()]


def test_a_table_whose_loaded_rows_differ_is_refused_before_the_swap(
    make_project: ProjectFactory, pg_database: str
) -> None:
    pg_fill(pg_database, tables=3, rows=60)
    root = project_for(make_project, {"dev": pg_database})
    original = _backup(root)
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("UPDATE extra_1 SET v = 'changed' WHERE id = 7")  # one value, same row count
    other = original.with_name("20000101T000000000000Z-other.dump")
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={other}", f"--dbname={pg_database}"], check=True
    )
    _adopt(original, other)
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("INSERT INTO customers (name) VALUES ('written after both dumps')")
    before = pg_rows(pg_database)
    done = run_cli("deploy", "dev", "restore", "--file", str(other), cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "checksums differ in extra_1" in done.stderr
    assert "Traceback" not in done.stderr
    assert pg_rows(pg_database) == before, "a refused restore changed the live database"
    assert _scratch_left(pg_database) == []
    verify = run_cli("deploy", "dev", "backup", "--verify", str(other), cwd=root)
    assert verify.returncode == 1
    assert "checksums differ in extra_1" in verify.stderr


def test_a_dump_whose_data_breaks_while_loading_is_refused_and_leaves_no_scratch(
    make_project: ProjectFactory, pg_database: str
) -> None:
    pg_fill(pg_database, tables=2, rows=60)
    root = project_for(make_project, {"dev": pg_database})
    backup = _backup(root)
    data = bytearray(backup.read_bytes())
    # Inside the 2 MB random bytea of ``blobs``: compressed table data, so the load of
    # that table fails half-way while the other tables load and hash.
    data[len(data) // 2] ^= 0xFF
    broken = backup.with_name("20000101T000000000000Z-broken.dump")
    broken.write_bytes(bytes(data))
    _adopt(backup, broken)
    before = pg_rows(pg_database)
    done = run_cli("deploy", "dev", "restore", "--file", str(broken), cwd=root)
    assert done.returncode != 0, done.stdout + done.stderr
    assert "pg_restore into a scratch database failed while loading data of" in done.stderr
    assert "blobs" in done.stderr.split("while loading data of", 1)[1].split(":", 1)[0]
    assert "could not uncompress data" in done.stderr, "the first error, not 'a worker process died'"
    assert "Traceback" not in done.stderr
    assert pg_rows(pg_database) == before
    assert _scratch_left(pg_database) == []


def test_inherited_and_partitioned_tables_are_hashed_once_all_their_rows_are_in(
    make_project: ProjectFactory, pg_database: str
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute(
            "CREATE TABLE parent (id int, v text); CREATE TABLE child (extra int) INHERITS (parent);"
            "INSERT INTO parent SELECT g, md5(g::text) FROM generate_series(1, 5000) g;"
            "INSERT INTO child SELECT g, md5(g::text), g FROM generate_series(1, 20000) g;"
            "CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);"
            "CREATE TABLE events_a PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-07-01');"
            "CREATE TABLE events_b PARTITION OF events FOR VALUES FROM ('2026-07-01') TO ('2027-01-01');"
            "INSERT INTO events SELECT g, '2026-01-01'::date + g % 360 FROM generate_series(1, 30000) g;"
        )
    root = project_for(make_project, {"dev": pg_database})
    backup = _backup(root)
    manifest = json.loads(backup.with_name(backup.name + ".json").read_text())
    assert manifest["tables"]["parent"] == 25000, "a parent's count includes its children's rows"
    assert manifest["tables"]["events"] == 30000
    before = pg_rows(pg_database)
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("DELETE FROM child WHERE id % 2 = 0; DELETE FROM events_b")
    done = run_cli("deploy", "dev", "restore", "--file", str(backup), cwd=root)
    assert done.returncode == 0, done.stderr
    assert pg_rows(pg_database) == before
