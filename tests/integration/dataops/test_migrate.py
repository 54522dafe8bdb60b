"""``deploy ENV migrate`` on a throwaway Alembic project, against real SQLite and PostgreSQL.

The project's three revisions: 0001 creates ``items`` with rows, 0002 adds a
column, and (when planted) 0003 first deletes data in its own committed
transaction and then fails, the worst case a protected stage must survive.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import ProjectFactory
from tests.helpers import run_cli

ALEMBIC_INI = """\
[alembic]
script_location = migrations
[loggers]
keys = root
[handlers]
keys = console
[formatters]
keys = generic
[logger_root]
level = WARNING
handlers = console
[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic
[formatter_generic]
format = %(levelname)s %(message)s
"""

# One transaction per revision: a failing revision cannot take back what an
# earlier one committed, so only the automatic backup can.
ENV_PY = """\
import os
from alembic import context
from sqlalchemy import create_engine

url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
if context.is_offline_mode():
    context.configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
"""

SCRIPT_MAKO = '''\
"""${message}"""
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
${upgrades if upgrades else ""}
'''

REVISIONS = {
    "0001": (
        None,
        """
def upgrade():
    op.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL)")
    op.execute("INSERT INTO items (id, name) VALUES (1, 'ünïcode ✓'), (2, 'two'), (3, 'three')")

def downgrade():
    op.execute("DROP TABLE items")
""",
    ),
    "0002": (
        "0001",
        """
def upgrade():
    op.add_column("items", sa.Column("price", sa.Integer(), nullable=False, server_default="0"))

def downgrade():
    with op.batch_alter_table("items") as batch:
        batch.drop_column("price")
""",
    ),
    "0003": (
        "0002",
        """
def upgrade():
    op.execute("DELETE FROM items WHERE id > 1")
    op.get_bind().commit()
    raise RuntimeError("planted failure in 0003 after deleting rows")

def downgrade():
    pass
""",
    ),
}


def alembic_project(make_project: ProjectFactory, url: str, stage: str, revisions: tuple[str, ...]) -> Path:
    files = {
        "stagewise.toml": f'[data]\n[data.urls]\n{stage} = "{url}"\n',
        "alembic.ini": ALEMBIC_INI,
        "migrations/env.py": ENV_PY,
        "migrations/script.py.mako": SCRIPT_MAKO,
    }
    for rev in revisions:
        down, body = REVISIONS[rev]
        files[f"migrations/versions/{rev}.py"] = (
            f"from alembic import op\nimport sqlalchemy as sa\n"
            f"revision = {rev!r}\ndown_revision = {down!r}\n{body}"
        )
    return make_project(files)


def rows(url: str) -> list[Any]:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :]) as db:
            return db.execute("SELECT * FROM items ORDER BY id").fetchall()
    with psycopg.connect(url) as db:
        return [tuple(r) for r in db.execute("SELECT * FROM items ORDER BY id").fetchall()]


def revision(url: str) -> str | None:
    query = "SELECT version_num FROM alembic_version"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :]) as db:
            found = db.execute(query).fetchone()
    else:
        with psycopg.connect(url) as db:
            found = db.execute(query).fetchone()
    return found[0] if found else None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dev.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


def test_migrate_up_down_up_keeps_the_data(make_project: ProjectFactory, database_url: str) -> None:
    root = alembic_project(make_project, database_url, "dev", ("0001", "0002"))
    sql = run_cli("deploy", "dev", "migrate", "--sql", cwd=root)
    assert sql.returncode == 0, sql.stderr
    assert "CREATE TABLE items" in sql.stdout
    assert "ADD COLUMN price" in sql.stdout
    if database_url.startswith("sqlite:///"):
        assert not Path(database_url[len("sqlite:///") :]).exists(), "--sql must touch nothing"

    up = run_cli("deploy", "dev", "migrate", cwd=root)
    assert up.returncode == 0, up.stderr
    assert revision(database_url) == "0002"
    assert rows(database_url) == [(1, "ünïcode ✓", 0), (2, "two", 0), (3, "three", 0)]
    assert run_cli("deploy", "dev", "migrate", "--check", cwd=root).returncode == 0

    down = run_cli("deploy", "dev", "migrate", "--downgrade", "0001", cwd=root)
    assert down.returncode == 0, down.stderr
    assert revision(database_url) == "0001"
    assert rows(database_url) == [(1, "ünïcode ✓"), (2, "two"), (3, "three")]
    behind = run_cli("deploy", "dev", "migrate", "--check", cwd=root)
    assert behind.returncode == 1
    assert "0001" in behind.stdout + behind.stderr

    again = run_cli("deploy", "dev", "migrate", "--to", "0002", cwd=root)
    assert again.returncode == 0, again.stderr
    assert revision(database_url) == "0002"
    assert rows(database_url) == [(1, "ünïcode ✓", 0), (2, "two", 0), (3, "three", 0)]

    history = run_cli("deploy", "dev", "migrate", "--history", cwd=root)
    assert history.returncode == 0, history.stderr
    assert "Rev: 0002 (head)" in history.stdout
    assert "Parent: 0001" in history.stdout


def test_a_revision_that_is_not_an_id_is_refused(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = alembic_project(make_project, f"sqlite:///{tmp_path / 'dev.db'}", "dev", ("0001",))
    done = run_cli("deploy", "dev", "migrate", "--to", "0001; rm -rf /", cwd=root)
    assert done.returncode == 2
    assert "is not a revision id" in done.stderr
    assert not (tmp_path / "dev.db").exists()


@pytest.mark.postgres
def test_failing_migration_on_a_protected_stage_is_rolled_back_from_the_automatic_backup(
    make_project: ProjectFactory, pg_database: str
) -> None:
    root = alembic_project(make_project, pg_database, "prod", ("0001", "0002", "0003"))
    first = run_cli("deploy", "prod", "migrate", "--to", "0002", "--yes", cwd=root)
    assert first.returncode == 0, first.stderr
    before = rows(pg_database)
    assert len(before) == 3

    failed = run_cli("deploy", "prod", "migrate", "--yes", cwd=root)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "planted failure in 0003" in failed.stderr
    assert "the database was restored from the automatic backup" in failed.stderr
    assert rows(pg_database) == before, "the rows 0003 deleted and committed must be back"
    assert revision(pg_database) == "0002"
    assert not failed.stderr.count("Traceback")


@pytest.mark.postgres
def test_a_failing_migration_off_the_protected_stages_says_where_it_stopped(
    make_project: ProjectFactory, pg_database: str
) -> None:
    """Without the automatic backup the damage stays, and the message must not pretend otherwise."""
    root = alembic_project(make_project, pg_database, "dev", ("0001", "0002", "0003"))
    failed = run_cli("deploy", "dev", "migrate", cwd=root)
    assert failed.returncode == 1
    assert "planted failure in 0003" in failed.stderr
    assert "restored" not in failed.stderr
    assert revision(pg_database) == "0002"


def test_a_backup_at_a_revision_the_code_does_not_know_is_refused(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    root = alembic_project(make_project, url, "dev", ("0001", "0002"))
    assert run_cli("deploy", "dev", "migrate", cwd=root).returncode == 0
    made = run_cli("deploy", "dev", "backup", cwd=root)
    assert made.returncode == 0, made.stderr
    assert "-0002." in made.stdout
    assert run_cli("deploy", "dev", "migrate", "--downgrade", "0001", cwd=root).returncode == 0
    (root / "migrations" / "versions" / "0002.py").unlink()  # the code went back a release
    refused = run_cli("deploy", "dev", "restore", cwd=root)
    assert refused.returncode == 1
    assert "is at schema revision 0002, which this code does not know (known: 0001)" in refused.stderr
    assert revision(url) == "0001"
    assert rows(url) == [(1, "ünïcode ✓"), (2, "two"), (3, "three")]


def test_a_backup_at_a_merge_revision_restores(make_project: ProjectFactory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    root = alembic_project(make_project, url, "dev", ("0001",))
    versions = root / "migrations" / "versions"
    for rev, down in (("0002a", "'0001'"), ("0002b", "'0001'"), ("0003", "('0002a', '0002b')")):
        (versions / f"{rev}.py").write_text(
            f"revision = {rev!r}\ndown_revision = {down}\n"
            "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n"
        )
    assert run_cli("deploy", "dev", "migrate", cwd=root).returncode == 0
    assert revision(url) == "0003"
    assert run_cli("deploy", "dev", "backup", cwd=root).returncode == 0
    done = run_cli("deploy", "dev", "restore", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "restored from" in done.stdout + done.stderr


@pytest.mark.postgres
def test_ctrl_c_during_a_protected_migration_puts_the_data_back(
    make_project: ProjectFactory, pg_database: str
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.helpers import cli_env

    root = alembic_project(make_project, pg_database, "prod", ("0001", "0002"))
    assert run_cli("deploy", "prod", "migrate", "--yes", cwd=root).returncode == 0
    before = rows(pg_database)
    (root / "migrations" / "versions" / "0003.py").write_text(
        "from alembic import op\nimport time\nrevision = '0003'\ndown_revision = '0002'\n"
        "def upgrade():\n"
        "    op.execute('DELETE FROM items WHERE id > 1')\n"
        "    op.get_bind().commit()\n"
        "    time.sleep(60)\n"
        "def downgrade():\n    pass\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "prod", "migrate", "--yes"],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(rows(pg_database)) == len(before):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "0003 never deleted its rows"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)  # the whole group, as a terminal's Ctrl+C
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "putting the data back" in line:
            # Ctrl+C again, to the whole group, while the put-back runs: neither stagewise
            # nor its pg_restore may stop before the data is back.
            os.killpg(process.pid, signal.SIGINT)
            break
    out = "".join(seen) + process.communicate(timeout=120)[0]
    assert process.returncode == 130, out
    assert "migration was interrupted; putting the data back from" in out
    assert rows(pg_database) == before
    assert revision(pg_database) == "0002"


def test_alembic_runs_in_the_projects_python_and_its_absence_there_is_named(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    """project.python is a real venv without alembic (stagewise's own has it): exit 4 naming it."""
    from tests.pyvenvs import STAGEWISE_CORE_ONLY, project_venv

    python = str(project_venv(STAGEWISE_CORE_ONLY))
    root = alembic_project(make_project, f"sqlite:///{tmp_path / 'dev.db'}", "dev", ("0001",))
    toml = root / "stagewise.toml"
    toml.write_text(f'[project]\npython = "{python}"\n' + toml.read_text())
    for command in (["--history"], []):
        done = run_cli("deploy", "dev", "migrate", *command, cwd=root)
        assert done.returncode == 4, done.stdout + done.stderr
        assert (
            f"alembic is not installed for the project's python {python}: "
            f"run `{python} -m pip install alembic`"
        ) in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "dev.db").exists()
    toml.write_text(toml.read_text().replace(python, str(tmp_path / "no-venv" / "bin" / "python")))
    gone = run_cli("deploy", "dev", "migrate", cwd=root)
    assert gone.returncode == 4
    assert f"the project's python {tmp_path / 'no-venv' / 'bin' / 'python'} does not exist" in gone.stderr
