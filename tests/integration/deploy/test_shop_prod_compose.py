"""examples/shop's prod path on the compose backend: no migration at container start.

The image's default (``SHOP_AUTO_MIGRATE=0``) and prod's compose file keep the
app from migrating its protected database itself; the schema comes only
through ``deploy prod migrate``: confirmed, a verified backup first. Real
Docker engine, real PostgreSQL in its container.
"""

from __future__ import annotations

import shutil
import socket
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.helpers import SHOP, free_port, run_cli

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("compose")]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_shop_prod_up_does_not_migrate_and_migrate_is_guarded(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(
        SHOP,
        root,
        ignore=shutil.ignore_patterns(".stagewise", "reports", "__pycache__", "*.db", ".pytest_cache"),
    )
    port, db_port = free_port(), free_port()
    toml = (root / "stagewise.toml").read_text()
    toml = toml.replace("http://127.0.0.1:8002", f"http://127.0.0.1:{port}")
    toml = toml.replace("${SHOP_PROD_DB_PORT:-55434}", str(db_port))
    toml = toml.replace("[compose]\n", f'[compose]\nproject_prefix = "swp{uuid.uuid4().hex[:8]}"\n')
    (root / "stagewise.toml").write_text(toml)
    env = {"SHOP_API_TOKEN": "prod-token", "SHOP_PROD_PORT": str(port), "SHOP_PROD_DB_PORT": str(db_port)}
    url = f"postgresql://shop:shop-prod-db@127.0.0.1:{db_port}/shop"

    def tables() -> list[str]:
        with psycopg.connect(url) as db:
            found = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        return sorted(r[0] for r in found)

    try:
        up = run_cli("deploy", "prod", "up", "-d", "--build", cwd=root, env=env, timeout=900)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr
        assert tables() == [], "the app must not migrate prod's database when its container starts"
        refused = run_cli("deploy", "prod", "migrate", cwd=root, env=env)
        assert refused.returncode == 2
        assert "refusing to migrate its database without --yes" in refused.stderr
        migrated = run_cli("deploy", "prod", "migrate", "--yes", cwd=root, env=env, timeout=600)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert "alembic_version" in tables()
        assert list((root / "backups" / "prod").glob("*.dump")), "a verified backup comes first"
    finally:
        down = run_cli("deploy", "prod", "down", "--volumes", "--yes", cwd=root, env=env, timeout=300)
        assert down.returncode == 0, down.stderr
    assert not port_open(port)
