"""Data commands on a project that lives in its own venv and builds its URL from ``POSTGRES_*`` parts.

The throwaway project is the shape issue 15 met: alembic, SQLAlchemy and
psycopg in the project's venv (``project.python``), stagewise in another (the
repo's ``.venv``), an ``env.py`` that never reads ``DATABASE_URL`` but
assembles its URL from ``POSTGRES_SERVER/PORT/DB/USER/PASSWORD``, and a
settings check that needs ``SECRET_KEY`` from the service's env. Everything
runs for real: the CLI in a subprocess, alembic in the project's venv, the
PostgreSQL at 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ProjectFactory
from tests.helpers import REPO, cli_env, run_cli
from tests.integration.dataops.conftest import ADMIN
from tests.integration.dataops.test_migrate import ALEMBIC_INI, REVISIONS, SCRIPT_MAKO, revision, rows
from tests.pyvenvs import ALEMBIC_PSYCOPG, STAGEWISE_CORE_ONLY, project_venv

pytestmark = pytest.mark.postgres

PASSWORD = "s3cret-pw-15"  # noqa: S105 - trust auth ignores it; it is here to be masked

# The template's way: a URL from parts, SECRET_KEY demanded at import, and a
# note of the interpreter that ran it (the project's, not stagewise's).
PARTS_ENV_PY = """\
import os
import pathlib
import sys

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import URL

pathlib.Path(__file__).resolve().parent.parent.joinpath("ran_with.txt").write_text(sys.executable)
if not os.environ.get("SECRET_KEY"):
    raise RuntimeError("settings: SECRET_KEY field required")
url = URL.create(
    "postgresql+psycopg",
    username=os.environ["POSTGRES_USER"],
    password=os.environ.get("POSTGRES_PASSWORD") or None,
    host=os.environ["POSTGRES_SERVER"],
    port=int(os.environ["POSTGRES_PORT"]),
    database=os.environ["POSTGRES_DB"],
)
if context.is_offline_mode():
    context.configure(url=url.render_as_string(hide_password=False), literal_binds=True)
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

DATA_ENV = """\
[data.env]
POSTGRES_SERVER = "{host}"
POSTGRES_PORT = "{port}"
POSTGRES_DB = "{database}"
POSTGRES_USER = "{user}"
POSTGRES_PASSWORD = "{password}"
"""


@pytest.fixture(scope="module")
def project_python() -> str:
    """The project's own venv: alembic, SQLAlchemy, psycopg (stagewise is not in it)."""
    return str(project_venv(ALEMBIC_PSYCOPG))


@pytest.fixture
def other_database() -> Iterator[str]:
    """A second database: the one a mis-wired env.py migrates instead."""
    name = f"swtest_{uuid.uuid4().hex[:10]}_other"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def revision_or_none(url: str) -> str | None:
    """The database's revision; ``None`` when alembic never wrote one there."""
    with psycopg.connect(url) as db:
        if db.execute("SELECT to_regclass('public.alembic_version')").fetchone() == (None,):
            return None
    return revision(url)


def with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)


def parts_project(
    make_project: ProjectFactory,
    python: str,
    stage: str,
    url: str,
    *,
    mapped: bool = True,
    dotenv: str = "",
) -> Path:
    """The throwaway project; ``mapped``: with the ``[data.env]`` mapping of the URL's parts."""
    toml = (
        f'[project]\npython = "{python}"\n\n'
        f'[data]\n[data.urls]\n{stage} = "{url}"\n'
        + (DATA_ENV if mapped else "")
        + '\n[services.app]\ncommand = ["{python}", "-c", "pass"]\n'
        + 'env = { SECRET_KEY = "service-secret-key" }\n'
    )
    files = {
        "stagewise.toml": toml,
        "alembic.ini": ALEMBIC_INI,
        "migrations/env.py": PARTS_ENV_PY,
        "migrations/script.py.mako": SCRIPT_MAKO,
        f".env.{stage}": dotenv,
    }
    for rev in ("0001", "0002"):
        down, body = REVISIONS[rev]
        files[f"migrations/versions/{rev}.py"] = (
            f"from alembic import op\nimport sqlalchemy as sa\nrevision = {rev!r}\ndown_revision = {down!r}\n{body}"
        )
    return make_project(files)


def test_data_env_makes_alembic_in_the_projects_venv_migrate_the_protected_database(
    make_project: ProjectFactory, project_python: str, pg_database: str
) -> None:
    root = parts_project(make_project, project_python, "prod", with_password(pg_database))
    done = run_cli("deploy", "prod", "migrate", "--yes", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert revision(pg_database) == "0002"
    assert rows(pg_database) == [(1, "ünïcode ✓", 0), (2, "two", 0), (3, "three", 0)]
    assert (root / "ran_with.txt").read_text() == project_python, "alembic ran in stagewise's python"
    assert PASSWORD not in done.stdout + done.stderr

    check = run_cli("deploy", "prod", "migrate", "--check", cwd=root)
    assert check.returncode == 0, check.stderr
    assert check.stdout == "prod is at head (0002)\n", "no JSON without --json"
    as_json = run_cli("deploy", "prod", "migrate", "--check", "--json", cwd=root)
    assert as_json.returncode == 0, as_json.stderr
    assert '"at_head": true' in as_json.stdout
    assert '"current": "0002"' in as_json.stdout

    at_head = run_cli("deploy", "prod", "migrate", "--sql", cwd=root)
    assert at_head.returncode == 0, at_head.stderr
    assert at_head.stdout == "", "nothing pending: no BEGIN; COMMIT;"
    assert "nothing pending: prod is at 0002, no SQL to print" in at_head.stderr


def test_an_env_py_that_ignores_the_url_is_caught_and_the_protected_data_put_back(
    make_project: ProjectFactory, project_python: str, pg_database: str, other_database: str
) -> None:
    url = with_password(pg_database)
    root = parts_project(make_project, project_python, "prod", url)
    assert run_cli("deploy", "prod", "migrate", "--to", "0001", "--yes", cwd=root).returncode == 0
    before = rows(pg_database)
    # The same project without [data.env]: its env.py follows .env.prod to another database.
    parts_project(
        make_project,
        project_python,
        "prod",
        url,
        mapped=False,
        dotenv=(
            "POSTGRES_SERVER=127.0.0.1\nPOSTGRES_PORT=5432\n"
            f"POSTGRES_DB={other_database}\nPOSTGRES_USER=postgres\n"
        ),
    )
    done = run_cli("deploy", "prod", "migrate", "--yes", cwd=root)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    masked = pg_database.replace("postgresql://postgres@", "postgresql://postgres:***@")
    assert f"alembic reported success, but {masked} did not move (still at 0001)" in done.stderr
    assert "does env.py read DATABASE_URL?" in done.stderr
    assert "putting the data back from" in out
    assert "the database was restored from the automatic backup" in done.stderr
    assert PASSWORD not in out
    assert "Traceback" not in out
    assert revision(pg_database) == "0001"
    assert rows(pg_database) == before
    other = pg_database.rsplit("/", 1)[0] + "/" + other_database
    assert revision(other) == "0002", "the test's premise: alembic migrated the other database"


def test_a_failing_alembic_names_the_missing_database_not_the_docs_link(
    make_project: ProjectFactory, project_python: str, pg_database: str
) -> None:
    missing = f"swtest_{uuid.uuid4().hex[:10]}_absent"
    root = parts_project(
        make_project,
        project_python,
        "dev",
        pg_database,
        mapped=False,
        dotenv=f"POSTGRES_SERVER=127.0.0.1\nPOSTGRES_PORT=5432\nPOSTGRES_DB={missing}\nPOSTGRES_USER=postgres\n",
    )
    done = run_cli("deploy", "dev", "migrate", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(
        "stagewise: error: alembic upgrade head failed: sqlalchemy.exc.OperationalError"
    ), line
    assert f'database "{missing}" does not exist' in line
    assert "Background on this error" not in done.stderr
    assert "Traceback" not in done.stderr


def test_the_settings_module_sees_the_service_env(
    make_project: ProjectFactory, project_python: str, pg_database: str
) -> None:
    root = parts_project(make_project, project_python, "dev", pg_database)
    toml = root / "stagewise.toml"
    toml.write_text(toml.read_text().replace('env = { SECRET_KEY = "service-secret-key" }\n', ""))
    done = run_cli("deploy", "dev", "migrate", cwd=root)
    assert done.returncode == 1
    assert "RuntimeError: settings: SECRET_KEY field required" in done.stderr
    assert revision_or_none(pg_database) is None


def test_without_psycopg_in_stagewises_venv_data_commands_say_what_to_install(
    make_project: ProjectFactory, project_python: str, pg_database: str
) -> None:
    """stagewise runs from a real venv that has its core dependencies (pytest, rich) and no
    psycopg, with this worktree's source on PYTHONPATH: the venv is shared by the tests, so
    installing stagewise into it would leak one worktree's code into another's runs."""
    import subprocess

    core_python = str(project_venv(STAGEWISE_CORE_ONLY))
    root = parts_project(make_project, project_python, "dev", pg_database)
    env = cli_env({"PYTHONPATH": str(REPO / "src")})
    for command in (["backup"], ["migrate"], ["migrate", "--check"], ["migrate", "--sql"]):
        done = subprocess.run(
            [core_python, "-m", "stagewise", "deploy", "dev", *command],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 4, (command, done.stdout + done.stderr)
        assert "psycopg is needed for PostgreSQL data commands" in done.stderr
        assert f"run `{core_python} -m pip install 'stagewise[postgres]'`" in done.stderr
        assert "Traceback" not in done.stderr
    assert revision_or_none(pg_database) is None, "nothing ran before the driver was found missing"
    assert not (root / "ran_with.txt").exists()
    assert not (root / "backups").exists() or not any((root / "backups").rglob("*.dump"))
    assert os.path.exists(project_python)


def test_round_trip_on_a_project_whose_env_py_reads_postgres_parts(
    make_project: ProjectFactory, project_python: str, pg_database: str
) -> None:
    """The closing note's round trip: row written, backup, row deleted, restore, row back."""
    root = parts_project(make_project, project_python, "dev", with_password(pg_database))
    assert run_cli("deploy", "dev", "migrate", cwd=root).returncode == 0
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("INSERT INTO items (id, name, price) VALUES (42, 'written by the test', 7)")
    backup = run_cli("deploy", "dev", "backup", cwd=root)
    assert backup.returncode == 0, backup.stderr
    assert "5 rows in 2 tables" in backup.stdout  # items: 3 + the one written; alembic_version: 1
    with psycopg.connect(pg_database, autocommit=True) as db:
        db.execute("DELETE FROM items WHERE id = 42")
    assert (42, "written by the test", 7) not in rows(pg_database)
    restore = run_cli("deploy", "dev", "restore", cwd=root)
    assert restore.returncode == 0, restore.stderr
    assert (42, "written by the test", 7) in rows(pg_database)
    assert revision(pg_database) == "0002"
    assert PASSWORD not in backup.stdout + backup.stderr + restore.stdout + restore.stderr


def test_a_driver_missing_from_the_projects_venv_is_named_with_that_python(
    make_project: ProjectFactory, pg_database: str
) -> None:
    """stagewise's venv has psycopg; the project's (alembic, SQLAlchemy) does not: env.py's import fails."""
    from tests.pyvenvs import ALEMBIC_NO_DRIVER

    python = str(project_venv(ALEMBIC_NO_DRIVER))
    root = parts_project(make_project, python, "dev", pg_database)
    done = run_cli("deploy", "dev", "migrate", cwd=root)
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"alembic upgrade head needs psycopg, which the project's python {python} lacks" in done.stderr
    assert "Traceback" not in done.stderr
    assert revision_or_none(pg_database) is None
