"""The migration gate's cost: ``stagewise deploy bench gate`` on a table of ``--rows`` rows.

On the real PostgreSQL at 127.0.0.1:5432, in a throwaway database this script
creates and drops: an alembic project (in stagewise's own interpreter, which
has alembic and psycopg in the dev install) whose 0001 creates ``items`` and
whose 0002 adds a nullable column and a (non-concurrent, allow-listed) index.
The live database is migrated to 0001, filled, backed up; then the gate runs
and its ``--json`` report gives each step's seconds and the locks taken.

Usage: ``python bench/bench_gate.py [--rows 1000000]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
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
REVISIONS = {
    "0001": (
        None,
        'op.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")',
        'op.execute("DROP TABLE items")',
    ),
    "0002": (
        "0001",
        'op.execute("ALTER TABLE items ADD COLUMN note TEXT")\n    '
        'op.execute("CREATE INDEX ix_items_name ON items (name)")',
        'op.execute("DROP INDEX ix_items_name")\n    op.execute("ALTER TABLE items DROP COLUMN note")',
    ),
}
ALLOW = """[[accept]]
id = "require-concurrent-index-creation"
location = "0002: *"
reason = "bench"
expires = 2099-12-31
"""


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "stagewise", "deploy", "bench", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"deploy bench {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    name = f"swbench_gate_{uuid.uuid4().hex[:8]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            (root / "stagewise.toml").write_text(
                f'[stages.bench]\n[data]\n[data.urls]\nbench = "{url}"\n', encoding="utf-8"
            )
            (root / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n", encoding="utf-8")
            (root / "migrations" / "versions").mkdir(parents=True)
            (root / "migrations" / "env.py").write_text(ENV_PY, encoding="utf-8")
            for rev, (down, up, back) in REVISIONS.items():
                (root / "migrations" / "versions" / f"{rev}.py").write_text(
                    f"from alembic import op\nrevision = {rev!r}\ndown_revision = {down!r}\n"
                    f"def upgrade():\n    {up}\ndef downgrade():\n    {back}\n",
                    encoding="utf-8",
                )
            (root / ".stagewise").mkdir()
            (root / ".stagewise" / "migration-allowlist.toml").write_text(ALLOW, encoding="utf-8")
            cli(root, "migrate", "--to", "0001")
            with psycopg.connect(url) as db:
                db.execute("INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, %s) g", (rows,))
            cli(root, "backup")
            started = time.monotonic()
            report = json.loads(cli(root, "gate", "--json").stdout)
            wall = time.monotonic() - started
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            for (db,) in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}%",)
            ).fetchall():
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print(f"gate on {rows:,} rows: {wall:.2f} s wall; downgrade proven: {report['downgrade_proven']}")
    print(f"locks: {', '.join(report['locks']) or 'none seen'}")
    for step in report["steps"]:
        print(f"  {step['step']:<28}{step['seconds']:>8.2f} s")


if __name__ == "__main__":
    main()
