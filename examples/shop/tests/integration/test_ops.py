"""Operational behaviour: failing health check, seeding, startup auto-migration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect

from shop.app import create_app
from shop.db import make_engine
from shop.seed import DEMO_PRODUCTS, seed
from shop.settings import Settings


def test_health_is_503_when_database_is_unreachable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'shop.db'}"  # directory does not exist
    with TestClient(create_app(Settings(database_url=url))) as client:
        resp = client.get("/health")
    assert resp.status_code == 503
    assert resp.json() == {"status": "error", "database": "error"}


def test_seed_is_idempotent(db_url: str) -> None:
    assert seed(db_url) == len(DEMO_PRODUCTS)
    assert seed(db_url) == 0


def test_auto_migrate_only_when_enabled(tmp_path: Path) -> None:
    off = f"sqlite:///{tmp_path / 'off.db'}"
    with TestClient(create_app(Settings(database_url=off))):
        pass
    engine = make_engine(off)
    assert "products" not in inspect(engine).get_table_names()
    engine.dispose()

    on = f"sqlite:///{tmp_path / 'on.db'}"
    with TestClient(create_app(Settings(database_url=on, auto_migrate=True))) as client:
        assert client.get("/products").json() == []


def test_migrate_and_seed_command_lines(empty_sqlite_url: str) -> None:
    """The commands deploy scripts call: python -m shop.migrate / shop.seed."""
    env = {**os.environ, "DATABASE_URL": empty_sqlite_url}
    run = [sys.executable, "-m"]
    subprocess.run([*run, "shop.migrate"], env=env, check=True, timeout=60)
    seeded = subprocess.run(
        [*run, "shop.seed"], env=env, check=True, timeout=60, capture_output=True, text=True
    )
    assert f"seeded {len(DEMO_PRODUCTS)} product(s)" in seeded.stdout
    subprocess.run([*run, "shop.migrate", "--downgrade", "base"], env=env, check=True, timeout=60)
    engine = make_engine(empty_sqlite_url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()
