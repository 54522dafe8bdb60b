"""Integration fixtures: the real app on a freshly migrated SQLite file or PostgreSQL database.

PostgreSQL tests create a uniquely named throwaway database per test so parallel runs
(xdist workers, other checkouts) never share state, and drop it afterwards.

Why not a new migrated database per test: running every Alembic revision for each test,
and creating a PostgreSQL database for it, was most of this tier's time. The migrations run
once per session (per xdist worker): SQLite tests get a copy of a migrated template file,
PostgreSQL tests the worker's migrated database with every row deleted and every sequence
reset before the test. The migrations themselves are still run from an empty database
(test_migrations.py, test_ops.py), and
``test_each_test_gets_a_fresh_copy_of_the_migrated_schema`` checks what each test starts from.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from shop.app import create_app
from shop.migrate import upgrade
from shop.settings import Settings

TEST_TOKEN = "integration-token"
PG_ADMIN_URL = os.environ.get(
    "SHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _skip_postgres() -> bool:
    """SHOP_SKIP_POSTGRES=1 skips the PostgreSQL tests, except with CI=true: there they must run."""
    in_ci = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
    return os.environ.get("SHOP_SKIP_POSTGRES") == "1" and not in_ci


def _admin_connect() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if _skip_postgres():
            pytest.skip(
                f"PostgreSQL is unreachable at {PG_ADMIN_URL} and SHOP_SKIP_POSTGRES=1 "
                "asks to skip (never under CI=true, where this fails)"
            )
        pytest.fail(
            f"PostgreSQL is unreachable at {PG_ADMIN_URL}: {exc}. Start it, point "
            "SHOP_TEST_POSTGRES_URL at a server, deselect with -m 'not postgres', "
            "or set SHOP_SKIP_POSTGRES=1 to skip these tests.",
            pytrace=False,
        )


def _create_database(template: str | None = None) -> str:
    """A new, uniquely named database (a copy of ``template`` when given); returns its name."""
    name = f"shop_test_{uuid.uuid4().hex[:16]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with _admin_connect() as admin:
        admin.execute(create)
    return name


def _drop_database(name: str) -> None:
    with _admin_connect() as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _postgres_url(name: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def _require_postgres() -> None:
    if _skip_postgres():
        pytest.skip(
            "needs PostgreSQL; SHOP_SKIP_POSTGRES=1 asks to skip it "
            "(never under CI=true, where it runs)"
        )


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A brand-new, empty database; dropped (forcibly) when the test ends."""
    _require_postgres()
    name = _create_database()
    try:
        yield _postgres_url(name)
    finally:
        _drop_database(name)


@pytest.fixture(scope="session")
def postgres_session_db() -> Iterator[str]:
    """This session's (xdist worker's) own database, migrated to head once; dropped after."""
    _require_postgres()
    name = _create_database()
    try:
        upgrade(_postgres_url(name))
        yield _postgres_url(name)
    finally:
        _drop_database(name)


#: Tables child-first (a row is deleted before the rows it references), and every sequence.
_SCHEMA_QUERY = """
SELECT c.relname, coalesce(array_agg(DISTINCT r.relname) FILTER (WHERE r.relname IS NOT NULL
                                                                AND r.relname <> c.relname), '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f'
LEFT JOIN pg_class r ON r.oid = k.confrelid
WHERE c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'
GROUP BY c.relname
"""


def _reset_postgres(url: str) -> None:
    """Every row deleted and every sequence back at 1: the state ``upgrade`` leaves, without
    the cost of a new database (``CREATE DATABASE`` syncs its files to disk: 0.2-1 s each on
    this machine). Sessions a test left open are ended first so none holds a lock."""
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        references = {table: set(parents) for table, parents in conn.execute(_SCHEMA_QUERY)}
        order: list[str] = []
        while references:  # children first: a table goes once nothing left references it
            leaves = sorted(t for t in references if not any(t in p for p in references.values()))
            if not leaves:  # a reference cycle: nothing in this schema has one
                raise RuntimeError(f"cannot order the tables for deletion: {sorted(references)}")
            order += leaves
            for table in leaves:
                del references[table]
        sequences = [row[0] for row in conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
        )]  # fmt: skip
        with conn.transaction():
            for table in order:
                conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            for sequence in sequences:
                conn.execute("SELECT setval(%s::regclass, 1, false)", (sequence,))


@pytest.fixture
def migrated_postgres_url(postgres_session_db: str) -> str:
    """The session's migrated database, emptied for this test (rows deleted, sequences reset)."""
    _reset_postgres(postgres_session_db)
    return postgres_session_db


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest) -> str:
    """The same test body runs once per backend."""
    return str(request.getfixturevalue(f"empty_{request.param}_url"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session (per xdist worker), copied by each test."""
    path = tmp_path_factory.mktemp("template") / "shop.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def migrated_sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    copy = tmp_path / "shop.db"
    shutil.copyfile(sqlite_template, copy)
    return f"sqlite:///{copy}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A database of its own at the migrated head, once per backend (the same test body)."""
    return str(request.getfixturevalue(f"migrated_{request.param}_url"))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, api_token=TEST_TOKEN, sse_heartbeat_seconds=0.2)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_TOKEN}"}
