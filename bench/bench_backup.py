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
  database with every table counted and hashed as its data lands, compared
  with the manifest, atomic rename swap).

Prints MB/s of the live database's size for each, and the overhead ratio of
stagewise over the plain tools; writes ``bench/results/backup.json``.

Rounds are interleaved (each round runs every side once) and the figures are
medians over rounds; a final in-process run prints where a restore's time goes.

Usage: ``python bench/bench_backup.py [--mb 200] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


def fresh_db(url: str) -> str:
    """An empty database named after ``url``'s plus a counter; returns its URL."""
    fresh_db.count += 1  # type: ignore[attr-defined]
    name = f"{url.rsplit('/', 1)[1]}_p{fresh_db.count}"  # type: ignore[attr-defined]
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{url.rsplit('/', 1)[0]}/{name}"


fresh_db.count = 0  # type: ignore[attr-defined]


def drop_db(url: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def settle(name: str, limit: float = 300.0) -> None:
    """Wait until the detached drop of ``<name>_old_<hex>`` (after a restore's swap) has finished."""
    deadline = time.monotonic() + limit
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        while admin.execute("SELECT 1 FROM pg_database WHERE datname LIKE %s", (f"{name}_old_%",)).fetchone():
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}_old_* was not dropped within {limit:.0f} s")
            time.sleep(0.1)


def steps(url: str, backup: Path, jobs: int) -> dict[str, float]:
    """Where a restore's time goes: each step of ``stagewise deploy ENV restore``, timed in-process.

    The checked load (one pg_restore --jobs, tables hashed as each lands) is timed whole;
    beside it, what its parts cost when run one after the other: plain
    ``pg_restore --jobs`` into a scratch database, then hashing every table
    by the new and by the old checksum method.
    """
    from stagewise.dataops import manifest as manifest_module
    from stagewise.dataops.pg_checksum import LEGACY_METHOD, RECORD_METHOD
    from stagewise.dataops.postgres import PostgresStore

    store = PostgresStore(url)
    out: dict[str, float] = {}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stagewise", "--version"], check=True, capture_output=True)
    out["python + stagewise start-up"] = time.perf_counter() - start
    manifest_module._DIGESTS.clear()
    start = time.perf_counter()
    manifest = manifest_module.check_intact(backup)
    out["sha256 of the dump"] = time.perf_counter() - start
    start = time.perf_counter()
    scratch, _, _ = store.load_checked(backup, manifest.checksum_method)
    out["checked load (hashing overlapped)"] = time.perf_counter() - start
    start = time.perf_counter()
    store.swap_in(scratch)
    out["swap (rename x2; drop detached)"] = time.perf_counter() - start
    target = fresh_db(url)
    start = time.perf_counter()
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--jobs={jobs}", f"--dbname={target}", str(backup)],
        check=True,
        capture_output=True,
    )
    out[f"  alone: pg_restore --jobs={jobs}"] = time.perf_counter() - start
    name = target.rsplit("/", 1)[1]
    for label, method in (("typed row hash", RECORD_METHOD), ("row-text hash (old)", LEGACY_METHOD)):
        start = time.perf_counter()
        store.snapshot(name, method=method)
        out[f"  alone: count + {label}, all tables"] = time.perf_counter() - start
    drop_db(target)
    return out


def report(
    figures: dict[str, object],
    profile: dict[str, float],
    ratios: dict[str, list[float]],
    jobs: int,
    mb: float,
) -> None:
    """The figures as a table, the per-round ratios, and the per-step profile."""
    print(f"database {mb:,.0f} MB, custom-format dump {figures['dump_bytes'] / 1e6:,.0f} MB")  # type: ignore[operator]
    print(f"median of {figures['rounds']} interleaved rounds (load average {figures['load_average']:.2f})")
    print(f"{'':28}{'seconds':>9}{'MB/s':>9}")
    for label, key in (
        ("pg_dump", "pg_dump"),
        ("stagewise backup", "stagewise_backup"),
        ("pg_restore (one job)", "pg_restore"),
        (f"pg_restore --jobs={jobs}", "pg_restore_jobs"),
        ("stagewise restore", "stagewise_restore"),
    ):
        print(f"{label:28}{figures[f'{key}_s']:>9}{figures[f'{key}_mb_s']:>9}")
    print(
        f"overhead (median of per-round ratios): backup x{figures['backup_overhead']} of pg_dump; "
        f"restore x{figures['restore_overhead']} of pg_restore (one job), "
        f"x{figures['restore_overhead_vs_jobs']} of pg_restore --jobs={jobs} (the jobs stagewise loads with)"
    )
    for key, values in ratios.items():
        print(f"  per-round {key}: {', '.join(f'x{v:.2f}' for v in values)}")
    print("where a restore's time goes (one in-process run):")
    for step, seconds in profile.items():
        print(f"  {step:44}{seconds:>7.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the test database (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    args = parser.parse_args()
    name = f"swbench_{uuid.uuid4().hex[:8]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    work = Path(tempfile.mkdtemp(prefix="swbench-"))
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    jobs = min(os.cpu_count() or 1, 4)
    times: dict[str, list[float]] = {
        k: [] for k in ("pg_dump", "stagewise_backup", "pg_restore", "pg_restore_jobs", "stagewise_restore")
    }
    try:
        size = fill(url, args.mb)
        mb = size / 1e6
        plain_file = work / "plain.dump"
        project = work / "project"
        project.mkdir()
        (project / "stagewise.toml").write_text(
            f'[stages.bench]\ntiers = ["unit"]\n[data]\n[data.urls]\nbench = "{url}"\n', encoding="utf-8"
        )
        cli = [sys.executable, "-m", "stagewise", "deploy", "bench"]
        env = {**os.environ, "CI": "true"}
        restore = ["pg_restore", "--no-owner", "--exit-on-error"]
        # A, B, A, B: each round runs every side once, so drift in machine load hits all alike.
        for _ in range(args.rounds):
            plain_file.unlink(missing_ok=True)
            times["pg_dump"].append(
                timed(["pg_dump", "--format=custom", "--no-owner", f"--file={plain_file}", f"--dbname={url}"])
            )
            times["stagewise_backup"].append(timed([*cli, "backup", "--keep", "1"], cwd=project, env=env))
            target = fresh_db(url)
            times["pg_restore"].append(timed([*restore, f"--dbname={target}", str(plain_file)]))
            drop_db(target)
            target = fresh_db(url)
            times["pg_restore_jobs"].append(
                timed([*restore, f"--jobs={jobs}", f"--dbname={target}", str(plain_file)])
            )
            drop_db(target)
            times["stagewise_restore"].append(timed([*cli, "restore"], cwd=project, env=env))
            settle(name)  # the replaced database's detached drop must not load the next round
        backup_file = next((project / "backups" / "bench").glob("*.dump"))
        profile = steps(url, backup_file, jobs)
        med = {k: statistics.median(v) for k, v in times.items()}
        ratios = {
            "backup": [b / a for a, b in zip(times["pg_dump"], times["stagewise_backup"], strict=True)],
            "restore": [b / a for a, b in zip(times["pg_restore"], times["stagewise_restore"], strict=True)],
            "restore_vs_jobs": [
                b / a for a, b in zip(times["pg_restore_jobs"], times["stagewise_restore"], strict=True)
            ],
        }
        figures: dict[str, object] = {
            "database_bytes": size,
            "dump_bytes": plain_file.stat().st_size,
            "stagewise_dump_bytes": backup_file.stat().st_size,
            "rounds": args.rounds,
            **{f"{k}_s": round(v, 2) for k, v in med.items()},
            **{f"{k}_mb_s": round(mb / v, 1) for k, v in med.items()},
            "backup_overhead": round(statistics.median(ratios["backup"]), 2),
            "restore_overhead": round(statistics.median(ratios["restore"]), 2),
            "restore_overhead_vs_jobs": round(statistics.median(ratios["restore_vs_jobs"]), 2),
            "restore_steps_s": {k: round(v, 3) for k, v in profile.items()},
            "per_round_ratios": {k: [round(v, 3) for v in vs] for k, vs in ratios.items()},
            "jobs": jobs,
            "load_average": os.getloadavg()[0],
            "cpus": os.cpu_count(),
        }
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}%",)
            ).fetchall():
                admin.execute(f'DROP DATABASE IF EXISTS "{row[0]}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)
    report(figures, profile, ratios, jobs, mb)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "backup.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
