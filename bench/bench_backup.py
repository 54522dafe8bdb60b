"""Backup and restore throughput: ``stagewise deploy ENV backup/restore`` next to plain pg_dump/pg_restore.

Measured in one run on the real PostgreSQL at 127.0.0.1:5432:

- a throwaway database of about ``--mb`` MB (a wide table of random text and a
  narrow table of many small rows), created and dropped by this script;
- ``pg_dump --format=custom`` to a file, then ``pg_restore`` into a fresh
  database, once as it is usually run and once with ``--jobs`` (as stagewise
  runs it into its scratch database): the floor any tool built on them can reach;
- ``stagewise deploy bench backup`` (same pg_dump from one exported snapshot,
  plus row counts and checksums per table and a sha256 manifest) and
  ``stagewise deploy bench restore`` (sha256 check, restore into a scratch
  database, counts and checksums compared, atomic rename swap).

Prints MB/s of the live database's size for each, and the overhead ratio of
stagewise over the plain tools; writes ``bench/results/backup.json``.

Usage: ``python bench/bench_backup.py [--mb 200]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def fill(url: str, megabytes: int) -> int:
    """Create the tables and return the database's size in bytes."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE wide (id bigserial PRIMARY KEY, body text, made timestamptz DEFAULT now())")
        db.execute("CREATE TABLE narrow (id bigserial PRIMARY KEY, n int, label varchar(20))")
        # ~1 kB of incompressible-ish text per wide row; 3/4 of the size in wide rows.
        wide_rows = megabytes * 1024 * 3 // 4
        db.execute(
            "INSERT INTO wide (body) SELECT string_agg(md5(random()::text || g::text || k::text), '') "
            "FROM generate_series(1, %s) g, generate_series(1, 32) k GROUP BY g",
            (wide_rows,),
        )
        db.execute(
            "INSERT INTO narrow (n, label) SELECT g, 'row ' || g FROM generate_series(1, %s) g",
            (megabytes * 4000,),
        )
        db.execute("VACUUM ANALYZE")
        return int(db.execute("SELECT pg_database_size(current_database())").fetchone()[0])


def timed(command: list[str], **kwargs: object) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the test database (default 200)")
    args = parser.parse_args()
    name = f"swbench_{uuid.uuid4().hex[:8]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    work = Path(tempfile.mkdtemp(prefix="swbench-"))
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        size = fill(url, args.mb)
        mb = size / 1e6
        plain_file = work / "plain.dump"
        dump_s = timed(
            ["pg_dump", "--format=custom", "--no-owner", f"--file={plain_file}", f"--dbname={url}"]
        )
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}_plain"')
            admin.execute(f'CREATE DATABASE "{name}_plainj"')
        restore = ["pg_restore", "--no-owner", "--exit-on-error"]
        restore_s = timed([*restore, f"--dbname={url}_plain", str(plain_file)])
        jobs = min(os.cpu_count() or 1, 4)
        restore_jobs_s = timed([*restore, f"--jobs={jobs}", f"--dbname={url}_plainj", str(plain_file)])

        project = work / "project"
        project.mkdir()
        (project / "stagewise.toml").write_text(
            f'[stages.bench]\ntiers = ["unit"]\n[data]\n[data.urls]\nbench = "{url}"\n', encoding="utf-8"
        )
        cli = [sys.executable, "-m", "stagewise", "deploy", "bench"]
        env = {**os.environ, "CI": "true"}
        sw_backup_s = timed([*cli, "backup"], cwd=project, env=env)
        sw_restore_s = timed([*cli, "restore"], cwd=project, env=env)
        backup_file = next((project / "backups" / "bench").glob("*.dump"))
        figures = {
            "database_bytes": size,
            "dump_bytes": plain_file.stat().st_size,
            "stagewise_dump_bytes": backup_file.stat().st_size,
            "pg_dump_s": round(dump_s, 2),
            "pg_restore_s": round(restore_s, 2),
            "pg_restore_jobs_s": round(restore_jobs_s, 2),
            "pg_restore_jobs_mb_s": round(mb / restore_jobs_s, 1),
            "stagewise_backup_s": round(sw_backup_s, 2),
            "stagewise_restore_s": round(sw_restore_s, 2),
            "pg_dump_mb_s": round(mb / dump_s, 1),
            "pg_restore_mb_s": round(mb / restore_s, 1),
            "stagewise_backup_mb_s": round(mb / sw_backup_s, 1),
            "stagewise_restore_mb_s": round(mb / sw_restore_s, 1),
            "backup_overhead": round(sw_backup_s / dump_s, 2),
            "restore_overhead": round(sw_restore_s / restore_s, 2),
            "cpus": os.cpu_count(),
        }
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}%",)
            ).fetchall():
                admin.execute(f'DROP DATABASE IF EXISTS "{row[0]}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)
    print(f"database {mb:,.0f} MB, custom-format dump {figures['dump_bytes'] / 1e6:,.0f} MB")
    print(f"{'':28}{'seconds':>9}{'MB/s':>9}")
    for label, key in (
        ("pg_dump", "pg_dump"),
        ("stagewise backup", "stagewise_backup"),
        ("pg_restore", "pg_restore"),
        (f"pg_restore --jobs={jobs}", "pg_restore_jobs"),
        ("stagewise restore", "stagewise_restore"),
    ):
        seconds = figures[f"{key}_s"]
        rate = figures[f"{key.replace('_s', '')}_mb_s"]
        print(f"{label:28}{seconds:>9}{rate:>9}")
    print(f"overhead: backup x{figures['backup_overhead']}, restore x{figures['restore_overhead']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "backup.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
