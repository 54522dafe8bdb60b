"""Failover: a bounded client loop writes through the router while a fault lands.

Every operation writes one new key (``PUT /kv/KEY``) and retries until the
client's deadline (the scenario's ``client_deadline``, what an SDK with
retries gives a user);
every attempt is recorded. From that record:

- **RTO**: from the fault landing to the end of the first successful write
  that started after the last failed attempt (0 when no attempt failed);
  a loop that ends still failing reports the whole window, unrecovered;
- **RPO**: acknowledged writes missing from the database that accepts writes
  afterwards, as rows and as the time span from the oldest lost write to
  the fault;
- **availability**: operations that completed within their deadline over
  operations attempted, from the fault to the end of the loop, plus the raw
  per-attempt success and a per-second timeline (attempts, successes,
  p95 latency) for the report.

The loop is bounded in time (``duration``) and in operations (``MAX_OPS``).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from stagewise.project.resilience import ResilienceGates, Scenario
from stagewise.tiers.resilience.faults import Fault
from stagewise.tiers.resilience.postgres import connect
from stagewise.tiers.resilience.probes.base import GateCheck, ProbeContext, ProbeResult, percentile
from stagewise.tiers.resilience.topology import Deployment, http_json

ATTEMPT_TIMEOUT_S = 2.0
PAUSE_S = 0.02
MAX_OPS = 5000


@dataclass(frozen=True)
class Attempt:
    started: float
    ended: float
    ok: bool


@dataclass
class Operation:
    key: str
    value: str
    started: float
    acked_at: float | None = None


@dataclass
class Loop:
    """What the client loop saw: every operation and attempt, when the fault landed and the loop ended."""

    started: float
    attempts: list[Attempt] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    fault_at: float = 0.0
    ended: float = 0.0


def _write(url: str, key: str, value: str, headers: dict[str, str]) -> bool:
    try:
        status, payload, _ = http_json(
            "PUT",
            f"{url}/kv/{key}",
            {"value": value, "ts": time.time()},
            headers=headers,
            timeout=ATTEMPT_TIMEOUT_S,
        )
    except OSError:
        return False
    return status == 200 and bool(payload.get("winner"))


def _client_loop(entry_url: str, loop: Loop, end: float, deadline: float, headers: dict[str, str]) -> None:
    """Write new keys through ``entry_url`` until ``end``; each retried until acknowledged or its deadline."""
    run = uuid.uuid4().hex[:8]
    while time.monotonic() < end and len(loop.operations) < MAX_OPS:
        op = Operation(f"fo-{run}-{len(loop.operations)}", str(len(loop.operations)), time.monotonic())
        loop.operations.append(op)
        while True:
            attempt_start = time.monotonic()
            ok = _write(entry_url, op.key, op.value, headers)
            loop.attempts.append(Attempt(attempt_start, time.monotonic(), ok))
            if ok:
                op.acked_at = time.monotonic()
                break
            if time.monotonic() - op.started >= deadline or time.monotonic() >= end:
                break
            time.sleep(PAUSE_S)
        time.sleep(PAUSE_S)


def probe_failover(
    deployment: Deployment, gates: ResilienceGates, scenario: Scenario, fault: Fault | None
) -> ProbeResult:
    """Run the client loop, plant ``fault`` at ``scenario.fault_at``, and measure RTO, RPO, availability."""
    result = ProbeResult("failover")
    loop = Loop(time.monotonic())
    fault_error: list[BaseException] = []

    def plant() -> None:
        if fault is None:
            return
        try:
            fault.apply()
        except BaseException as exc:  # re-raised in the probe's own thread below
            fault_error.append(exc)

    planter = threading.Timer(scenario.fault_at, plant)
    planter.daemon = True
    planter.start()
    try:
        _client_loop(
            deployment.entry_url,
            loop,
            loop.started + scenario.duration,
            scenario.client_deadline,
            deployment.write_headers,
        )
    finally:
        planter.cancel()
        planter.join(30)
    if fault_error:
        raise fault_error[0]
    applied = fault.applied_at if fault is not None else None
    loop.fault_at = applied if applied is not None else loop.started + scenario.fault_at
    loop.ended = time.monotonic()
    result.figures["fault"] = fault.description if fault is not None else "none"
    result.figures["fault_at_s"] = round(loop.fault_at - loop.started, 3)
    _rto(result, gates, loop)
    _rpo(result, gates, deployment, loop)
    _availability(result, gates, loop)
    recovered_at = loop.fault_at + result.figures["rto_s"] if result.figures["failed_attempts"] else None
    result.timeline = _timeline(loop, recovered_at if result.figures["recovered"] else None)
    manager = deployment.failover
    if manager is not None:
        result.figures["promoted"] = manager.promoted_at is not None
        if manager.promoted_at is not None:
            result.figures["promoted_at_s"] = round(manager.promoted_at - loop.started, 3)
        if manager.error:
            result.notes.append(f"failover manager: {manager.error}")
    result.duration = time.monotonic() - loop.started
    return result


def _rto(result: ProbeResult, gates: ResilienceGates, loop: Loop) -> None:
    after = [a for a in loop.attempts if a.ended >= loop.fault_at]
    failed = [a for a in after if not a.ok]
    recovered = True
    if not failed:
        rto = 0.0
    else:
        last_failure = max(a.started for a in failed)
        success = next((a for a in after if a.ok and a.started > last_failure), None)
        if success is None:
            recovered, rto = False, loop.ended - loop.fault_at
        else:
            rto = max(success.ended - loop.fault_at, 0.0)
    result.figures["rto_s"] = round(rto, 3)
    result.figures["recovered"] = recovered
    result.figures["failed_attempts"] = len(failed)
    if recovered:
        result.at_most("rto_s", "RTO (fault to first successful write)", rto, gates.rto_s, "s")
    elif gates.rto_s is not None:
        # Still failing when the loop ended: the RTO is unknown, not the loop's length.
        result.checks.append(
            GateCheck(
                "failover",
                "rto_s",
                rto,
                gates.rto_s,
                False,
                f"failover: RTO unknown: writes were still failing when the loop ended, {rto:.2f} s "
                f"after the fault (gate {gates.rto_s:.2f} s)",
            )
        )


def _rpo(result: ProbeResult, gates: ResilienceGates, deployment: Deployment, loop: Loop) -> None:
    acked = [op for op in loop.operations if op.acked_at is not None]
    result.figures["acknowledged"] = len(acked)
    dsn = deployment.writable_dsn()
    if dsn is None:
        result.notes.append("RPO not measured: no region's database accepts writes after the loop")
        result.figures["rpo_rows"] = None
        result.below("rpo_s", "RPO (no writable database to check)", float("inf"), gates.rpo_s, "s")
        return
    with connect(dsn, timeout=3) as db:
        from psycopg import sql

        query = sql.SQL("SELECT key, value FROM {} WHERE key = ANY(%s)").format(
            sql.Identifier(deployment.kv_table)
        )
        rows = db.execute(query, ([op.key for op in acked],)).fetchall()
    stored = {str(k): str(v) for k, v in rows}
    lost = [op for op in acked if stored.get(op.key) != op.value]
    oldest = min((float(op.acked_at or loop.fault_at) for op in lost), default=loop.fault_at)
    span = max(loop.fault_at - oldest, 0.0)
    result.figures["rpo_rows"] = len(lost)
    result.figures["rpo_s"] = round(span, 3)
    if lost:
        result.notes.append(f"lost acknowledged writes: {', '.join(op.key for op in lost[:5])}")
    result.below("rpo_s", f"RPO ({len(lost)} acknowledged writes lost)", span, gates.rpo_s, "s")


def _availability(result: ProbeResult, gates: ResilienceGates, loop: Loop) -> None:
    window = [op for op in loop.operations if (op.acked_at or loop.ended) >= loop.fault_at]
    done = [op for op in window if op.acked_at is not None]
    availability = 100.0 * len(done) / len(window) if window else 100.0
    raw = [a for a in loop.attempts if a.ended >= loop.fault_at]
    raw_ok = 100.0 * sum(a.ok for a in raw) / len(raw) if raw else 100.0
    result.figures["operations"] = len(loop.operations)
    result.figures["window_operations"] = len(window)
    result.figures["availability"] = round(availability, 2)
    result.figures["attempt_success"] = round(raw_ok, 2)
    result.figures["window_s"] = round(loop.ended - loop.fault_at, 3)
    what = f"availability over the failover window ({len(done)}/{len(window)} writes)"
    result.at_least("availability", what, availability, gates.availability, "%")


def _timeline(loop: Loop, recovered_at: float | None) -> list[dict[str, Any]]:
    """Per second since the loop began: attempts, successes, p95 latency; the fault's and recovery's seconds marked."""
    seconds: dict[int, list[Attempt]] = {}
    for attempt in loop.attempts:
        seconds.setdefault(int(attempt.started - loop.started), []).append(attempt)
    fault_second = int(loop.fault_at - loop.started)
    recovery_second = int(recovered_at - loop.started) if recovered_at is not None else None
    timeline: list[dict[str, Any]] = []
    for second in sorted(seconds):
        batch = seconds[second]
        latencies = [(a.ended - a.started) * 1000 for a in batch]
        timeline.append(
            {
                "t": second,
                "attempts": len(batch),
                "ok": sum(a.ok for a in batch),
                "p95_ms": round(percentile(latencies, 95), 1),
                "fault": second == fault_second,
                "recovered": second == recovery_second,
            }
        )
    return timeline


class FailoverProbe:
    """The ``failover`` probe; it plants the scenario's ``failover``-phase fault during its loop."""

    name = "failover"

    def run(self, context: ProbeContext) -> ProbeResult:
        return probe_failover(context.deployment, context.gates, context.scenario, context.fault)

    def headline(self, result: ProbeResult) -> dict[str, Any]:
        """RTO, RPO (rows and seconds), availability and raw attempt success."""
        return {
            key: result.figures.get(key)
            for key in ("rto_s", "rpo_rows", "rpo_s", "availability", "attempt_success")
        }


__all__ = ["FailoverProbe", "probe_failover"]
