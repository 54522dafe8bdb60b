"""A stopped alembic run leaves no session behind holding its locks (real PostgreSQL).

Killing alembic does not stop its server session: PostgreSQL runs the statement
on, holding an ALTER's ACCESS EXCLUSIVE lock, so the version still serving
blocks. The runner names its sessions and ends them when it stops the run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest

from stagewise.dataops import migrate
from stagewise.dataops.migrate import Alembic
from stagewise.dataops.postgres import PostgresStore
from stagewise.errors import DeployError
from tests.integration.dataops.test_migrate import ALEMBIC_INI, ENV_PY

SLOW = """
from alembic import op
revision = "0001"
down_revision = None

def upgrade():
    op.execute("CREATE TABLE items (id int)")
    op.execute("SELECT pg_sleep(60)")

def downgrade():
    op.execute("DROP TABLE items")
"""


def _project(root: Path) -> None:
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "migrations" / "versions" / "0001.py").write_text(SLOW)


def _migration_sessions(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'stagewise-migrate-%%' "
            "AND datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("ends_them", [True, False], ids=["named-sessions-ended", "control-without"])
def test_a_timed_out_migration_leaves_no_session_running(
    tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch, ends_them: bool
) -> None:
    _project(tmp_path)
    monkeypatch.setattr(migrate, "_TIMEOUT", 3)
    store = PostgresStore(pg_database)
    env = {"DATABASE_URL": pg_database, "PATH": "/usr/bin:/bin"}
    alembic = Alembic(tmp_path, "alembic.ini", env, sys.executable, store.end_sessions if ends_them else None)
    with pytest.raises(DeployError, match="did not finish within 3 s"):
        alembic.run("upgrade", "head")
    left = _migration_sessions(pg_database)
    if ends_them:
        assert left == 0
    else:  # what the named sessions are for: without ending them, the statement runs on
        assert left == 1
