"""A checked restore into a scratch database: each table hashed as soon as its data is in.

``pg_restore --jobs`` and then a checksum of every table would put all of the
hashing after the last index build. Here one ``pg_restore --jobs --verbose``
loads the dump, and its log drives the hashing: the leader logs
``finished item ID TABLE DATA ...`` once a worker's COPY of that table has
committed, and that table is then counted and hashed on its own connection
while other tables still load and indexes build.

After a table's data item, only post-data DDL touches it (indexes,
constraints, triggers), which never changes its rows, so a table hashed
then holds those rows when it is swapped in. A table whose rows can come
from other entries (an inheritance parent, a partitioned table or a
partition, which ``--load-via-partition-root`` dumps fill through the root)
and any table without a data entry of its own is hashed after pg_restore
exits. Every table the final catalog lists is hashed; the log only decides
when.

Measured (bench/bench_backup.py, 251 MB): this, pg_restore then hashing, and
an earlier design (a pg_restore per table, sections apart) are within a few
per cent of each other on 2 cores; this one is a single pg_restore.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from stagewise.errors import DeployError

# 3352; 0 29663 TABLE DATA public wide postgres
_DATA_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (.+) \S+$")

Hash = Callable[[str], tuple[int, str]]  # table -> (row count, checksum)


# pg_restore --verbose, parallel mode: the leader's log of its work items.
_PARALLEL = "pg_restore: entering main parallel loop"
_LAUNCHED = re.compile(r"^pg_restore: launching item (\d+) ")
_FINISHED = re.compile(r"^pg_restore: finished item (\d+) ")
_INFO = re.compile(r"^pg_restore: (?!error:|warning:|detail:|hint:)")
_WORKER_DIED = "a worker process died unexpectedly"


def data_ids(toc: str) -> dict[str, str]:
    """The full ``--list`` listing's public TABLE DATA entries: dump id -> table."""
    ids: dict[str, str] = {}
    for line in toc.splitlines():
        match = _DATA_ENTRY.match(line)
        if match and match.group(1) == "public":
            ids[line.split(";", 1)[0]] = match.group(2)
    return ids


class _RestoreLog:
    """What pg_restore's verbose log has said so far: items in flight, errors, late tables."""

    def __init__(self, by_id: dict[str, str], catalog: Callable[[], tuple[list[str], set[str]]]) -> None:
        self.by_id = by_id
        self.catalog = catalog
        self.late: set[str] | None = None  # known once pre-data is in
        self.in_flight: set[str] = set()
        self.errors: list[str] = []

    def read(self, line: str) -> str | None:
        """Take one line; returns a table whose data just finished and may be hashed now."""
        if line == _PARALLEL:
            self.late = self.catalog()[1]
        elif launched := _LAUNCHED.match(line):
            self.in_flight.add(launched.group(1))
        elif finished := _FINISHED.match(line):
            self.in_flight.discard(finished.group(1))
            table = self.by_id.get(finished.group(1))
            if table is not None and self.late is not None and table not in self.late:
                return table
        elif not _INFO.match(line):
            self.errors.append(line)
        return None

    def failure(self, cause: Callable[[str], str]) -> str:
        """`` while loading data of T: the first error`` (not the leader's "a worker died")."""
        loading = sorted(self.by_id[i] for i in self.in_flight if i in self.by_id)
        what = f" while loading data of {', '.join(loading)}" if loading else ""
        first = [e for e in self.errors if _WORKER_DIED not in e] or self.errors
        return f"{what}: {cause(chr(10).join(first))}"


def checked_load(
    pg_restore: list[str],
    env: Mapping[str, str],
    backup: Path,
    *,
    jobs: int,
    catalog: Callable[[], tuple[list[str], set[str]]],
    hash_table: Hash,
    cause: Callable[[str], str],
) -> tuple[dict[str, int], dict[str, str]]:
    """One ``pg_restore --jobs --verbose``; each table hashed when its data item is reported finished.

    The leader logs ``finished item ID TABLE DATA`` once a worker's COPY of
    that table has committed; from then on only post-data DDL touches the
    table, which never changes its rows. Pre-data is complete when the
    leader enters its parallel loop, so the catalog (which tables other
    entries fill: hashed only after the whole restore) is read then. Tables
    never reported (``--jobs=1``, no data entry, or the catalog's late ones)
    are hashed after pg_restore exits, from the final catalog: every public
    table is hashed; the log only decides when.
    """
    listed = subprocess.run(
        [pg_restore[0], "--list", str(backup)], capture_output=True, check=False, env=dict(env)
    )
    if listed.returncode != 0:
        raise DeployError(
            f"pg_restore cannot read {backup.name}: {cause(listed.stderr.decode(errors='replace'))}"
        )
    log = _RestoreLog(data_ids(listed.stdout.decode(errors="replace")), catalog)
    hashers = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="pg-hash")
    results: dict[str, Future[tuple[int, str]]] = {}
    process = subprocess.Popen(
        [*pg_restore, "--verbose", f"--jobs={jobs}", str(backup)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(env),
        start_new_session=True,  # a second Ctrl+C must not kill a put-back half-way
    )
    try:
        for raw in process.stderr or ():
            table = log.read(raw.decode(errors="replace").rstrip("\n"))
            if table is not None:
                results[table] = hashers.submit(hash_table, table)
        if process.wait() != 0:
            raise DeployError(f"pg_restore into a scratch database failed{log.failure(cause)}")
        tables, _ = catalog()
        for table in tables:
            if table not in results:
                results[table] = hashers.submit(hash_table, table)
        figures = {t: results[t].result() for t in tables}
    except BaseException:
        # Stop pg_restore and every queued hash now; running hashes end when the caller
        # drops the scratch database (WITH (FORCE) ends their sessions).
        process.kill()
        process.wait()
        hashers.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        if process.stderr is not None:
            process.stderr.close()
    hashers.shutdown()
    return {t: n for t, (n, _) in figures.items()}, {t: c for t, (_, c) in figures.items()}
