"""Consistency: after the load, every region holds the same rows, byte for byte.

The probe first waits (bounded) until each replica has replayed everything the
primary had written when it asked, then compares, table by table (every table
of the ``public`` schema, so the service's own too), the row count and an md5
over every row in key order. A region that cannot be read is
a failed check, not a skipped one: a region that lost its data is exactly
what this probe is for.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from stagewise.project.resilience import ResilienceGates
from stagewise.tiers.resilience.postgres import connect
from stagewise.tiers.resilience.probes.base import ProbeContext, ProbeResult, holds
from stagewise.tiers.resilience.topology import Deployment

CATCH_UP_S = 10.0
_TABLES = (
    "SELECT quote_ident(table_name) FROM information_schema.tables "
    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
)


def _wait_caught_up(deployment: Deployment, primary_dsn: str) -> float:
    """Seconds until every replica replayed the primary's current WAL position (bounded)."""
    started = time.monotonic()
    with connect(primary_dsn, timeout=3) as db:
        target = db.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    for region in deployment.regions.values():
        if region.dsn == primary_dsn:
            continue
        deadline = started + CATCH_UP_S
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception), connect(region.dsn, timeout=1) as db:
                row = db.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn OR NOT pg_is_in_recovery()", (str(target),)
                ).fetchone()
                if row and row[0]:
                    break
            time.sleep(0.02)
    return time.monotonic() - started


def _accepts_writes(dsn: str) -> bool:
    try:
        with connect(dsn, timeout=1) as db:
            return not db.execute("SELECT pg_is_in_recovery()").fetchone()[0]
    except Exception:  # a region that does not answer accepts nothing
        return False


def _fingerprint(dsn: str) -> dict[str, Any]:
    with connect(dsn, timeout=2) as db:
        tables = {}
        # Every table of the public schema: the service's own as well as the probes'.
        for (table,) in db.execute(_TABLES).fetchall():
            row = db.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"  # noqa: S608 - table names are our constants
            ).fetchone()
            tables[table] = {"rows": int(row[0]), "md5": str(row[1])}
        return tables


def probe_consistency(deployment: Deployment, gates: ResilienceGates) -> ProbeResult:
    """Compare row counts and checksums of every probe table across every region."""
    del gates  # a yes/no promise: no limit to configure
    result = ProbeResult("consistency")
    started = time.monotonic()
    primary_dsn = deployment.writable_dsn()
    if primary_dsn is None:
        result.checks.append(
            holds("consistency", "consistency", False, "no region's database accepts writes")
        )
        result.duration = time.monotonic() - started
        return result
    result.figures["catch_up_s"] = round(_wait_caught_up(deployment, primary_dsn), 3)
    writable = [r.name for r in deployment.regions.values() if _accepts_writes(r.dsn)]
    result.figures["writable"] = writable
    if len(writable) > 1:
        result.checks.append(
            holds(
                "consistency",
                "split_brain",
                False,
                f"split brain: {' and '.join(writable)} all accept writes",
            )
        )
    prints: dict[str, dict[str, Any]] = {}
    for region in deployment.regions.values():
        try:
            prints[region.name] = _fingerprint(region.dsn)
        except Exception as exc:  # an unreadable region is a finding, not a crash
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            result.checks.append(
                holds(
                    "consistency",
                    "consistency",
                    False,
                    f"region {region.name}'s database cannot be read: {reason}",
                )
            )
    result.figures["regions"] = prints
    names = list(prints)
    tables = sorted({table for fingerprint in prints.values() for table in fingerprint})
    missing = {"rows": 0, "md5": "(no such table)"}
    for table in tables:
        seen = {name: prints[name].get(table, missing) for name in names}
        distinct = {(v["rows"], v["md5"]) for v in seen.values()}
        if len(distinct) > 1:
            detail = ", ".join(f"{n} {v['rows']} rows md5 {v['md5'][:8]}" for n, v in seen.items())
            result.checks.append(
                holds("consistency", "consistency", False, f"regions differ on {table}: {detail}")
            )
    if not any(not c.passed for c in result.checks):
        rows = sum(prints[names[0]][t]["rows"] for t in tables) if names else 0
        result.checks.append(
            holds(
                "consistency",
                "consistency",
                True,
                f"{len(names)} regions hold the same {rows} rows in {len(tables)} tables (checksums equal)",
                measured=float(rows),
            )
        )
    result.duration = time.monotonic() - started
    return result


class ConsistencyProbe:
    """The ``consistency`` probe: a yes/no promise, so nothing in the headline."""

    name = "consistency"

    def run(self, context: ProbeContext) -> ProbeResult:
        return probe_consistency(context.deployment, context.gates)

    def headline(self, result: ProbeResult) -> dict[str, Any]:
        del result
        return {}


__all__ = ["ConsistencyProbe", "probe_consistency"]
