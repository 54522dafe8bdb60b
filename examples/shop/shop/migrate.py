"""Programmatic Alembic runner: `python -m shop.migrate [revision]` (default: head)."""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config

from shop.db import normalize_url
from shop.settings import load_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    """Config independent of cwd, so tests and deploy shims can call it from anywhere."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = database_url or load_settings().database_url
    # '%' must be escaped for ConfigParser interpolation (e.g. URL-encoded passwords).
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Upgrade the schema to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "-1") -> None:
    """Downgrade the schema to `revision` ('base' drops everything)."""
    command.downgrade(alembic_config(database_url), revision)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run shop database migrations.")
    parser.add_argument("revision", nargs="?", default="head", help="target (default: head)")
    parser.add_argument("--downgrade", action="store_true", help="downgrade instead")
    parser.add_argument("--database-url", default=None, help="overrides DATABASE_URL")
    args = parser.parse_args(argv)
    if args.downgrade:
        downgrade(args.database_url, args.revision)
    else:
        upgrade(args.database_url, args.revision)


if __name__ == "__main__":
    main()
