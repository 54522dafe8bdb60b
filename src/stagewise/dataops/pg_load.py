"""A checked restore into a scratch database: each table hashed as soon as its data is in.

``pg_restore --jobs`` then a checksum of every table leaves the hashing on
the critical path, after the last index is built. Here the restore runs in
its three sections and the hashing overlaps the load:

1. pre-data (tables, types, functions) in one ``pg_restore``;
2. each table's data in its own ``pg_restore -L`` (one TOC entry), up to
   ``jobs`` at once, biggest first as far as the manifest's row counts say;
   the moment one finishes, that table is counted and hashed on its own
   connection while the others still load;
3. post-data (indexes, constraints, triggers) with ``--jobs``, while the last
   tables are still being hashed.

Post-data holds only DDL: it never changes a table's rows, so a table
hashed after its data entry holds those rows when it is swapped in. A table
whose rows can come from other entries (an inheritance parent, a
partitioned table or a partition, which ``--load-via-partition-root`` dumps
fill through the root) and any table without a data entry of its own is
hashed after all data is in. Every table the catalog lists is hashed; the
TOC only decides when.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from stagewise.errors import DeployError

# 3352; 0 29663 TABLE DATA public wide postgres
_DATA_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (.+) \S+$")

Hash = Callable[[str], tuple[int, str]]  # table -> (row count, checksum)


class Children:
    """The pg_restore processes of one load, killed together if the load stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen[bytes]] = set()
        self.stopped = False

    def run(self, command: list[str], env: Mapping[str, str]) -> tuple[int, str]:
        with tempfile.TemporaryFile() as errors:
            with self._lock:
                if self.stopped:
                    return 1, "stopped"
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    env=dict(env),
                    start_new_session=True,  # a second Ctrl+C must not kill a put-back half-way
                )
                self._live.add(process)
            try:
                code = process.wait()
            finally:
                with self._lock:
                    self._live.discard(process)
            errors.seek(0)
            return code, errors.read().decode(errors="replace")

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            for process in self._live:
                process.kill()


def data_entries(toc: str) -> tuple[dict[str, str], list[str]]:
    """The ``-l --section=data`` listing split: public tables' data lines by table, and the rest."""
    tables: dict[str, str] = {}
    others: list[str] = []
    for line in toc.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        match = _DATA_ENTRY.match(line)
        if match and match.group(1) == "public" and match.group(2) not in tables:
            tables[match.group(2)] = line
        else:
            others.append(line)  # sequence values, large objects, other schemas' data
    return tables, others


def checked_load(
    pg_restore: list[str],
    env: Mapping[str, str],
    backup: Path,
    *,
    jobs: int,
    catalog: Callable[[], tuple[list[str], set[str]]],
    hash_table: Hash,
    order: Mapping[str, int],
    cause: Callable[[str], str],
) -> tuple[dict[str, int], dict[str, str]]:
    """Load ``backup`` section by section, hashing tables as they finish; counts and checksums.

    ``pg_restore`` is its command line up to the archive (``--dbname`` of the
    scratch database included); ``catalog()`` lists the public tables and
    those to hash last (read after pre-data). Raises DeployError if any part
    fails; the caller drops the scratch database.
    """
    listed = subprocess.run(
        [pg_restore[0], "--list", "--section=data", str(backup)],
        capture_output=True,
        check=False,
        env=dict(env),
    )
    if listed.returncode != 0:
        reason = cause(listed.stderr.decode(errors="replace"))
        raise DeployError(f"pg_restore cannot read {backup.name}: {reason}")
    by_table, others = data_entries(listed.stdout.decode(errors="replace"))
    children = Children()

    def step(what: str, *args: str) -> None:
        code, errors = children.run([*pg_restore, *args, str(backup)], env)
        if code != 0:
            raise DeployError(f"pg_restore ({what}) into a scratch database failed: {cause(errors)}")

    def entries(what: str, lines: list[str]) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as listing:
            listing.write("\n".join(lines) + "\n")
            listing.flush()
            step(what, f"--use-list={listing.name}")

    loaders = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="pg-load")
    hashers = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="pg-hash")
    results: dict[str, Future[tuple[int, str]]] = {}
    try:
        step("pre-data", "--section=pre-data")
        tables, last = catalog()
        early = sorted((t for t in tables if t in by_table and t not in last), key=lambda t: -order.get(t, 0))

        def load(table: str) -> None:
            entries(f"data of {table}", [by_table[table]])
            results[table] = hashers.submit(hash_table, table)

        loads = [loaders.submit(load, t) for t in early]
        rest = [line for t, line in by_table.items() if t not in early] + others
        if rest:
            loads.append(loaders.submit(entries, "other data", rest))
        for future in loads:
            future.result()
        for table in tables:
            if table not in results:
                results[table] = hashers.submit(hash_table, table)
        step("post-data", "--section=post-data", f"--jobs={jobs}")
        figures = {t: results[t].result() for t in tables}
    except BaseException:
        # Stop every pg_restore and queued hash now; running hashes end when the caller
        # drops the scratch database (WITH (FORCE) ends their sessions).
        children.stop()
        loaders.shutdown(wait=False, cancel_futures=True)
        hashers.shutdown(wait=False, cancel_futures=True)
        raise
    loaders.shutdown()
    hashers.shutdown()
    return {t: n for t, (n, _) in figures.items()}, {t: c for t, (_, c) in figures.items()}
