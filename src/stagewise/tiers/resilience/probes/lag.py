"""Replication lag: marker rows written on the primary, timed until each replica can read them.

The lag of one marker is the time from the primary's commit returning to the
first read on the replica that sees the row; polls run every millisecond, so
that is the resolution. With synchronous ``remote_apply`` the commit itself
waits for the replica, and the lag seen after it is ~0 by construction.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from stagewise.errors import MissingError
from stagewise.project.resilience import ResilienceGates
from stagewise.tiers.resilience.postgres import connect
from stagewise.tiers.resilience.probes.base import ProbeContext, ProbeResult, percentile
from stagewise.tiers.resilience.topology import Deployment

MARKER_TIMEOUT_S = 5.0


def _poll(replica: Any, token: str, deadline: float) -> float | None:
    """Monotonic time at which ``token`` became visible on ``replica``, None at the deadline."""
    while True:
        row = replica.execute("SELECT 1 FROM stagewise_markers WHERE token = %s", (token,)).fetchone()
        now = time.monotonic()
        if row is not None:
            return now
        if now >= deadline:
            return None
        time.sleep(0.001)


def probe_lag(
    deployment: Deployment, gates: ResilienceGates, markers: int, pad_bytes: int = 0
) -> ProbeResult:
    """Write ``markers`` markers (each padded with ``pad_bytes`` random bytes) and time their arrival on every replica.

    A marker that has not arrived after ten times the P99 limit (1 to 5 s) is
    counted at that wait: it is over the limit either way, and a partitioned
    replica must not hold the probe for minutes.
    """
    timeout = min(max(10 * (gates.lag_p99_ms or 500) / 1000, 1.0), MARKER_TIMEOUT_S)
    result = ProbeResult("lag")
    started = time.monotonic()
    primary = deployment.regions[deployment.primary_name]
    replicas = [r for r in deployment.regions.values() if r.role != "primary"]
    run = uuid.uuid4().hex[:8]
    try:
        writer = connect(primary.dsn, timeout=3)
        readers = {r.name: connect(r.dsn, timeout=3) for r in replicas}
    except Exception as exc:  # psycopg's errors, converted where they are met
        raise MissingError(f"lag probe: cannot connect to a region's database: {exc}") from exc
    lags: dict[str, list[float]] = {r.name: [] for r in replicas}
    missing: dict[str, int] = {r.name: 0 for r in replicas}
    try:
        for index in range(markers):
            token = f"lag-{run}-{index}"
            pad = os.urandom(pad_bytes // 2).hex() if pad_bytes else ""
            writer.execute(
                "INSERT INTO stagewise_markers (token, written_at, pad) "
                "VALUES (%s, extract(epoch from clock_timestamp()), %s)",
                (token, pad),
            )
            committed = time.monotonic()
            for name, reader in readers.items():
                seen = _poll(reader, token, committed + timeout)
                if seen is None:
                    missing[name] += 1
                    lags[name].append(timeout * 1000)
                else:
                    lags[name].append((seen - committed) * 1000)
    finally:
        writer.close()
        for reader in readers.values():
            reader.close()
    for name, values in lags.items():
        figures = {
            "markers": len(values),
            "unseen": missing[name],
            "p50_ms": round(percentile(values, 50), 2),
            "p95_ms": round(percentile(values, 95), 2),
            "p99_ms": round(percentile(values, 99), 2),
            "max_ms": round(max(values, default=0.0), 2),
        }
        result.figures[name] = figures
        result.below(
            "lag_p99_ms", f"replication lag P99 to {name}", figures["p99_ms"], gates.lag_p99_ms, "ms"
        )
        if missing[name]:
            result.notes.append(f"{missing[name]} marker(s) never reached {name} within {timeout:g} s")
    result.duration = time.monotonic() - started
    return result


class LagProbe:
    """The ``lag`` probe: the scenario's markers (and their padding) to every replica."""

    name = "lag"

    def run(self, context: ProbeContext) -> ProbeResult:
        scenario = context.scenario
        return probe_lag(context.deployment, context.gates, scenario.markers, scenario.marker_bytes)

    def headline(self, result: ProbeResult) -> dict[str, Any]:
        """P50/P95/P99/max lag per replica (``lag_p99_ms[eu]``)."""
        figures: dict[str, Any] = {}
        for region, values in result.figures.items():
            for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
                figures[f"lag_{key}[{region}]"] = values[key]
        return figures


__all__ = ["LagProbe", "probe_lag"]
