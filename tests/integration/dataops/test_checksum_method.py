"""The manifest's checksum method: old manifests still restore, unknown ones are refused.

Real PostgreSQL through the CLI. New backups write the typed row hash;
a manifest without the field (text-hash checksums, as the older
``sum(...::numeric)`` query gives) is checked by that older method.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ProjectFactory
from tests.helpers import run_cli
from tests.integration.dataops.test_backup_restore import pg_fill, pg_rows, project_for

pytestmark = pytest.mark.postgres

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
OLD_QUERY = 'SELECT coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text FROM public."{}" AS t'


def _backup(root: Path) -> tuple[Path, Path]:
    done = run_cli("deploy", "dev", "backup", cwd=root)
    assert done.returncode == 0, done.stderr
    backup = Path(done.stdout.strip().splitlines()[-1])
    return backup, backup.with_name(backup.name + ".json")


def test_new_backups_use_the_typed_row_hash_and_old_manifests_restore_by_their_own(
    make_project: ProjectFactory, pg_database: str
) -> None:
    pg_fill(pg_database, tables=2, rows=50)
    root = project_for(make_project, {"dev": pg_database})
    backup, manifest_file = _backup(root)
    manifest = json.loads(manifest_file.read_text())
    assert manifest["checksum_method"] == "sum-hashrecord-c-0"
    with psycopg.connect(pg_database) as db:
        old = {table: db.execute(OLD_QUERY.format(table)).fetchone()[0] for table in manifest["checksums"]}
    assert old != manifest["checksums"], "the two methods must not coincide by accident"
    # A manifest as stagewise wrote it before the field existed: text-hash checksums, no method.
    del manifest["checksum_method"]
    wrong = {**old, "customers": str(int(old["customers"]) + 1)}
    manifest_file.write_text(json.dumps({**manifest, "checksums": wrong}))
    before = pg_rows(pg_database)
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("DELETE FROM customers WHERE id % 2 = 0")
    refused = run_cli("deploy", "dev", "restore", "--file", str(backup), cwd=root)
    assert refused.returncode == 1, refused.stderr
    assert "checksums differ in customers" in refused.stderr
    manifest_file.write_text(json.dumps({**manifest, "checksums": old}))
    done = run_cli("deploy", "dev", "restore", "--file", str(backup), cwd=root)
    assert done.returncode == 0, done.stderr
    assert pg_rows(pg_database) == before


def test_an_unknown_checksum_method_is_refused_and_live_data_kept(
    make_project: ProjectFactory, pg_database: str
) -> None:
    pg_fill(pg_database, tables=1, rows=5)
    root = project_for(make_project, {"dev": pg_database})
    backup, manifest_file = _backup(root)
    manifest = json.loads(manifest_file.read_text())
    manifest["checksum_method"] = "from-the-future"
    manifest_file.write_text(json.dumps(manifest))
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("DELETE FROM customers")
    done = run_cli("deploy", "dev", "restore", "--file", str(backup), cwd=root)
    assert done.returncode == 1, done.stderr
    assert "made with from-the-future" in done.stderr
    assert "Traceback" not in done.stderr
    assert pg_rows(pg_database)["customers"] == []


def test_the_replaced_database_is_dropped_and_a_missed_one_is_swept(
    make_project: ProjectFactory, pg_database: str
) -> None:
    pg_fill(pg_database, tables=1, rows=5)
    root = project_for(make_project, {"dev": pg_database})
    backup, _ = _backup(root)
    name = pg_database.rsplit("/", 1)[1]
    done = run_cli("deploy", "dev", "restore", "--file", str(backup), cwd=root)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 30
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        while admin.execute("SELECT 1 FROM pg_database WHERE datname LIKE %s", (f"{name}_old_%",)).fetchone():
            assert time.monotonic() < deadline, "the replaced database was never dropped"
            time.sleep(0.1)
        # A background drop that never ran (the machine went down): the next restore sweeps it.
        admin.execute(f'CREATE DATABASE "{name}_old_0badc0de"')
    done = run_cli("deploy", "dev", "restore", "--file", str(backup), cwd=root)
    assert done.returncode == 0, done.stderr
    assert (
        f"dropped {name}_old_0badc0de, the database an earlier restore replaced" in done.stdout + done.stderr
    )
