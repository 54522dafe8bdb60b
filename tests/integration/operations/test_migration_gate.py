"""The migration gate on real PostgreSQL, real alembic (in a project venv) and the real squawk.

Each test builds a throwaway alembic project whose 0001 creates ``items`` with
rows; the live database is migrated to 0001 and backed up, then a planted 0002
is put through the gate. After every test, failed or not, no scratch database
may be left and the live database must still be at 0001 with its rows.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from stagewise.dataops.lock import env_lock, project_locks
from stagewise.errors import DeployError, MigrationGateRefused
from stagewise.operations.migration_gate import GateReport, GateRequest, run_migration_gate
from stagewise.project.loader import load_project
from tests.conftest import ProjectFactory, requires
from tests.helpers import cli_env, run_cli
from tests.integration.dataops.test_migrate import ALEMBIC_INI, ENV_PY, SCRIPT_MAKO
from tests.pyvenvs import ALEMBIC_PSYCOPG, project_venv

pytestmark = [
    pytest.mark.postgres,
    requires(shutil.which("pg_dump") is not None, "pg_dump and pg_restore (postgresql-client)"),
]

BASE = """
def upgrade():
    op.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
    op.execute("INSERT INTO items (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')")

def downgrade():
    op.execute("DROP TABLE items")
"""
INDEX = """
def upgrade():
    op.execute("CREATE INDEX ix_items_name ON items (name)")
    op.execute("SELECT pg_sleep(0.3)")

def downgrade():
    op.execute("DROP INDEX ix_items_name")
"""
REQUIRED_FIELD = """
def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN qty BIGINT NOT NULL")

def downgrade():
    op.execute("ALTER TABLE items DROP COLUMN qty")
"""
HALF_WAY = """
def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN note TEXT")
    op.execute("UPDATE items SET note = 'x'")
    op.execute("SELECT 1 / 0")

def downgrade():
    op.execute("ALTER TABLE items DROP COLUMN note")
"""
NO_DOWNGRADE = """
def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN note TEXT")

def downgrade():
    raise NotImplementedError("no way back from 0002")
"""
SLOW = """
def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN note TEXT")
    op.execute("SELECT pg_sleep(60)")

def downgrade():
    op.execute("ALTER TABLE items DROP COLUMN note")
"""
RENAME_FOR_OLD_CHECK = """
def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN note TEXT")

def downgrade():
    op.execute("ALTER TABLE items DROP COLUMN note")
"""


def gate_project(
    make_project: ProjectFactory,
    url: str,
    second: str | None,
    extra_toml: str = "",
    files: dict[str, str] | None = None,
) -> Path:
    python = project_venv(ALEMBIC_PSYCOPG)
    texts = {
        "stagewise.toml": f'[project]\npython = "{python}"\n[data]\n[data.urls]\ndev = "{url}"\n{extra_toml}',
        "alembic.ini": ALEMBIC_INI,
        "migrations/env.py": ENV_PY,
        "migrations/script.py.mako": SCRIPT_MAKO,
        "migrations/versions/0001.py": _revision("0001", None, BASE),
        **(files or {}),
    }
    if second is not None:
        texts["migrations/versions/0002.py"] = _revision("0002", "0001", second)
    root = make_project(texts)
    if second is not None:
        done = run_cli("deploy", "dev", "migrate", "--to", "0001", cwd=root)
        assert done.returncode == 0, done.stderr
        done = run_cli("deploy", "dev", "backup", cwd=root)
        assert done.returncode == 0, done.stderr
    return root


def _revision(rev: str, down: str | None, body: str) -> str:
    return f"from alembic import op\nrevision = {rev!r}\ndown_revision = {down!r}\n{body}"


def gate(
    root: Path, old_version_check: object = None, lines: list[str] | None = None
) -> tuple[GateReport, list[str]]:
    project = load_project(root)
    lines = [] if lines is None else lines
    with env_lock(project_locks(root), "dev", "test gate", 0.0):
        report = run_migration_gate(
            GateRequest(project, project.stages["dev"], {}, old_version_check),  # type: ignore[arg-type]
            lines.append,
        )
    return report, lines


def live_state(url: str) -> tuple[str | None, list[tuple[object, ...]], list[str]]:
    """The live revision, its rows, and the scratch databases left beside it."""
    with psycopg.connect(url) as db:
        revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
        rows = [tuple(r) for r in db.execute("SELECT * FROM items ORDER BY id").fetchall()]
        name = url.rsplit("/", 1)[1]
        scratch = [
            str(r[0])
            for r in db.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}_%",)
            ).fetchall()
        ]
    return (revision[0] if revision else None), rows, scratch


UNTOUCHED = ("0001", [(1, "one"), (2, "two"), (3, "three")], [])


def test_a_non_concurrent_index_fails_the_lint(make_project: ProjectFactory, pg_database: str) -> None:
    root = gate_project(make_project, pg_database, INDEX)
    with pytest.raises(MigrationGateRefused, match="require-concurrent-index-creation in revision 0002"):
        gate(root)
    assert live_state(pg_database) == UNTOUCHED


def test_a_required_field_fails_the_lint_naming_the_allow_list(
    make_project: ProjectFactory, pg_database: str
) -> None:
    root = gate_project(make_project, pg_database, REQUIRED_FIELD)
    with pytest.raises(MigrationGateRefused, match=r"adding-required-field .*migration-allowlist\.toml"):
        gate(root)
    assert live_state(pg_database) == UNTOUCHED


ACCEPT = """
[[accept]]
id = "require-concurrent-index-creation"
location = "0002: CREATE INDEX ix_items_name*"
reason = "items has three rows"
expires = {expires}
"""


def test_an_accepted_finding_passes_and_the_rehearsal_proves_the_downgrade(
    make_project: ProjectFactory, pg_database: str
) -> None:
    allow = {".stagewise/migration-allowlist.toml": ACCEPT.format(expires="2099-12-31")}
    root = gate_project(make_project, pg_database, INDEX, files=allow)
    report, lines = gate(root)
    assert report.applies
    assert report.reason == "passed"
    assert (report.revision_before, report.revision_after) == ("0001", "0002")
    assert report.downgrade_proven
    assert any(
        "require-concurrent-index-creation" in a and "items has three rows" in a for a in report.accepted
    )
    assert report.rehearsal_s is not None
    assert report.rehearsal_s >= 0.3
    # CREATE INDEX takes a SHARE lock on the table, which blocks writes: the sampler saw it.
    assert "items: ShareLock" in report.locks, report.locks
    names = [name for name, _ in report.steps]
    assert names[:3] == ["lint", "restore scratch copy", "rehearse upgrade"]
    assert "rehearse downgrade" in names
    assert "rehearse upgrade again" in names
    assert any("dropped" in line for line in lines)
    assert live_state(pg_database) == UNTOUCHED


def test_an_expired_acceptance_no_longer_accepts(make_project: ProjectFactory, pg_database: str) -> None:
    allow = {".stagewise/migration-allowlist.toml": ACCEPT.format(expires="2020-01-31")}
    root = gate_project(make_project, pg_database, INDEX, files=allow)
    lines: list[str] = []
    with pytest.raises(MigrationGateRefused, match="require-concurrent-index-creation"):
        gate(root, lines=lines)
    assert any("expired on 2020-01-31" in line for line in lines), lines
    assert live_state(pg_database) == UNTOUCHED


def test_a_migration_failing_half_way_is_refused_and_live_data_untouched(
    make_project: ProjectFactory, pg_database: str
) -> None:
    root = gate_project(make_project, pg_database, HALF_WAY)
    with pytest.raises(MigrationGateRefused, match=r"failed in rehearsal.*division by zero.*not touched"):
        gate(root)
    assert live_state(pg_database) == UNTOUCHED


def test_no_downgrade_passes_but_is_not_proven(make_project: ProjectFactory, pg_database: str) -> None:
    root = gate_project(make_project, pg_database, NO_DOWNGRADE)
    report, lines = gate(root)
    assert report.applies
    assert not report.downgrade_proven
    assert any("downgrade not proven" in line and "no way back" in line for line in lines), lines
    assert live_state(pg_database) == UNTOUCHED


def test_an_old_version_that_breaks_on_the_new_schema_refuses_the_release(
    make_project: ProjectFactory, pg_database: str
) -> None:
    root = gate_project(make_project, pg_database, RENAME_FOR_OLD_CHECK)
    seen: list[str] = []

    def old_version_check(url: str) -> None:
        # What the old version would do: here, read the schema it was built for, strictly.
        with psycopg.connect(url) as db:
            seen.append(str(db.execute("SELECT version_num FROM alembic_version").fetchone()[0]))
            columns = [r[0] for r in db.execute("SELECT * FROM items LIMIT 0").description or []]
        if columns != ["id", "name"]:
            raise DeployError(f"old version: unexpected columns {columns}")

    with pytest.raises(MigrationGateRefused, match=r"serving now breaks on the new schema.*note"):
        gate(root, old_version_check)
    assert seen == ["0002"], "the check must run against the rehearsed (upgraded) copy"
    assert live_state(pg_database) == UNTOUCHED


def test_nothing_to_migrate_is_not_applicable_not_a_pass(
    make_project: ProjectFactory, pg_database: str, tmp_path: Path
) -> None:
    root = gate_project(make_project, pg_database, None)
    assert run_cli("deploy", "dev", "migrate", cwd=root).returncode == 0
    report, _ = gate(root)
    assert not report.applies
    assert "no pending revision" in report.reason
    sqlite = gate_project(make_project, f"sqlite:///{tmp_path / 'dev.db'}", None)
    report, _ = gate(sqlite)
    assert not report.applies
    assert "sqlite store" in report.reason


def test_lock_timeout_stops_a_migration_blocked_by_a_lock_on_the_live_database(
    make_project: ProjectFactory, pg_database: str
) -> None:
    root = gate_project(make_project, pg_database, RENAME_FOR_OLD_CHECK, '[data.gate]\nlock_timeout = "1s"\n')
    holder = psycopg.connect(pg_database)
    try:
        holder.execute("LOCK TABLE items IN ACCESS SHARE MODE")  # a long read: ALTER TABLE must wait
        started = time.monotonic()
        done = run_cli("deploy", "dev", "migrate", cwd=root)
        took = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "lock timeout" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert took < 30
    assert live_state(pg_database) == UNTOUCHED


def test_the_cli_runs_the_gate_alone(make_project: ProjectFactory, pg_database: str) -> None:
    root = gate_project(make_project, pg_database, NO_DOWNGRADE)
    done = run_cli("deploy", "dev", "gate", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "migration gate passed: 0001 -> 0002" in done.stdout
    assert "downgrade not proven" in done.stdout
    assert "rehearse upgrade" in done.stdout
    as_json = run_cli("deploy", "dev", "gate", "--json", cwd=root)
    assert as_json.returncode == 0, as_json.stderr
    record = json.loads(as_json.stdout)
    assert record["kind"] == "deploy.gate", record
    assert live_state(pg_database) == UNTOUCHED


def test_the_cli_refuses_a_lint_error_with_exit_1(make_project: ProjectFactory, pg_database: str) -> None:
    root = gate_project(make_project, pg_database, REQUIRED_FIELD)
    done = run_cli("deploy", "dev", "gate", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "adding-required-field" in done.stderr
    assert "Traceback" not in done.stderr
    assert live_state(pg_database) == UNTOUCHED


def test_ctrl_c_during_the_rehearsal_drops_the_scratch_copy(
    make_project: ProjectFactory, pg_database: str
) -> None:
    root = gate_project(make_project, pg_database, SLOW)
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "dev", "gate"],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "verified" in line:  # the scratch copy exists; the 60 s upgrade starts now
                break
        time.sleep(1)
        assert live_state(pg_database)[2], "the scratch copy should exist during the rehearsal"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert live_state(pg_database) == UNTOUCHED
