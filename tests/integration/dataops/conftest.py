"""Throwaway databases on the real PostgreSQL (127.0.0.1:5432) and real SQLite files."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database; it and any scratch copies are dropped afterwards."""
    name = f"swtest_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required for these tests: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}%",)
            ).fetchall()
            for (db,) in rows:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
