"""Routing: where the entry URL sends requests, by client location, by weight, by health.

Every answer names the region that served it (``X-Region``), so the probe
sees the router's real decisions from the outside:

- **accuracy**: requests carrying ``X-Client-Region: LOCATION`` for each
  region's location; the share served by the region at that location;
- **weights**: requests without a location; each region's share against its
  configured weight, the largest difference in percentage points;
- **p95 / error rate** over all of those requests;
- **health-based routing** (when the scenario's fault is ``blackhole``): one
  region is blackholed; after ``health_reroute_s`` no request may be routed
  to it (each one would hang or fail for a user); then it comes back and
  traffic must return to it within the same time (**recovery**).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from stagewise.project.resilience import ResilienceGates, Scenario
from stagewise.tiers.resilience.faults import Fault
from stagewise.tiers.resilience.probes.base import ProbeContext, ProbeResult, percentile
from stagewise.tiers.resilience.topology import Deployment, http_json

CLIENT_TIMEOUT_S = 3.0
CLIENTS = 4
GRACE_S = 2.0


@dataclass(frozen=True)
class Sample:
    at: float
    served_by: str | None
    routed_to: str | None
    ok: bool
    latency_ms: float


def _request(entry_url: str, location: str | None) -> Sample:
    headers = {"X-Client-Region": location} if location else {}
    started = time.monotonic()
    try:
        status, _payload, answer = http_json(
            "GET", f"{entry_url}/health", headers=headers, timeout=CLIENT_TIMEOUT_S
        )
    except OSError:
        return Sample(started, None, None, False, (time.monotonic() - started) * 1000)
    headers_lower = {k.lower(): v for k, v in answer.items()}
    return Sample(
        started,
        headers_lower.get("x-region"),
        headers_lower.get("x-routed-to") or headers_lower.get("x-region"),
        status == 200,
        (time.monotonic() - started) * 1000,
    )


def probe_routing(
    deployment: Deployment, gates: ResilienceGates, scenario: Scenario, fault: Fault | None
) -> ProbeResult:
    """Measure routing accuracy, weight deviation, latency, errors and (with a blackhole) health routing."""
    result = ProbeResult("routing")
    started = time.monotonic()
    regions = list(deployment.regions.values())
    per_phase = max(scenario.requests // 2, len(regions))
    located = [_request(deployment.entry_url, regions[i % len(regions)].location) for i in range(per_phase)]
    expected = [regions[i % len(regions)].name for i in range(per_phase)]
    hits = sum(
        1 for sample, want in zip(located, expected, strict=True) if sample.ok and sample.served_by == want
    )
    accuracy = 100.0 * hits / len(located)
    unlocated = [_request(deployment.entry_url, None) for _ in range(per_phase)]
    served = Counter(s.served_by for s in unlocated if s.ok)
    total_weight = sum(r.weight for r in regions)
    shares = {r.name: round(100.0 * served.get(r.name, 0) / len(unlocated), 2) for r in regions}
    targets = {r.name: round(100.0 * r.weight / total_weight, 2) for r in regions}
    deviation = max(abs(shares[n] - targets[n]) for n in shares)
    samples = located + unlocated
    p95 = percentile([s.latency_ms for s in samples], 95)
    errors = 100.0 * sum(not s.ok for s in samples) / len(samples)
    result.figures.update(
        {
            "requests": len(samples),
            "accuracy": round(accuracy, 2),
            "shares": shares,
            "weights": targets,
            "weight_deviation": round(deviation, 2),
            "p95_ms": round(p95, 2),
            "error_rate": round(errors, 2),
        }
    )
    worst = max(shares, key=lambda n: abs(shares[n] - targets[n]))
    result.above(
        "routing_accuracy",
        "geo-routing accuracy (served by the client's region)",
        accuracy,
        gates.routing_accuracy,
        "%",
    )
    result.at_most(
        "weight_deviation",
        f"traffic off its weights ({worst} served {shares[worst]:.1f}%, weight {targets[worst]:.1f}%)",
        deviation,
        gates.weight_deviation,
        "pt",
    )
    result.below("p95_ms", "p95 latency through the router", p95, gates.p95_ms, "ms")
    result.below("error_rate", "error rate through the router", errors, gates.error_rate, "%")
    if fault is not None and fault.kind == "blackhole":
        _health_routing(result, deployment, gates, fault)
    result.duration = time.monotonic() - started
    return result


def _hammer(entry_url: str, until: float) -> list[Sample]:
    """CLIENTS threads requesting through the router until ``until``; all their samples."""
    samples: list[Sample] = []
    lock = threading.Lock()

    def client() -> None:
        while time.monotonic() < until:
            sample = _request(entry_url, None)
            with lock:
                samples.append(sample)
            time.sleep(0.01)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(CLIENT_TIMEOUT_S + until - time.monotonic() + 5)
    return samples


def _health_routing(
    result: ProbeResult, deployment: Deployment, gates: ResilienceGates, fault: Fault
) -> None:
    limit = gates.health_reroute_s if gates.health_reroute_s is not None else 5.0
    target = str(fault.target)
    fault.apply()
    applied = fault.applied_at or time.monotonic()
    try:
        samples = _hammer(deployment.entry_url, applied + limit + GRACE_S)
    finally:
        fault.revert()
    to_failed = [s for s in samples if s.routed_to == target or (not s.ok and s.routed_to is None)]
    last = max((s.at for s in to_failed), default=applied) - applied
    result.figures["health"] = {
        "blackholed": target,
        "requests": len(samples),
        "routed_to_failed": len(to_failed),
        "last_routed_to_failed_s": round(last, 3),
    }
    result.at_most(
        "health_reroute_s", f"blackholed region {target} still got traffic after", last, limit, "s"
    )
    reverted = fault.reverted_at or time.monotonic()
    back: float | None = None
    deadline = reverted + limit + GRACE_S
    while time.monotonic() < deadline and back is None:
        sample = _request(deployment.entry_url, None)
        if sample.ok and sample.served_by == target:
            back = sample.at - reverted
        time.sleep(0.02)
    recovery = back if back is not None else deadline - reverted
    result.figures["health"]["recovery_s"] = round(recovery, 3)
    what = (
        f"traffic back to {target} after it recovered"
        if back is not None
        else f"no traffic back to {target} within"
    )
    result.at_most("recovery_s", what, recovery, limit, "s")


class RoutingProbe:
    """The ``routing`` probe; with a ``routing``-phase fault (blackhole) it measures health routing too."""

    name = "routing"

    def run(self, context: ProbeContext) -> ProbeResult:
        return probe_routing(context.deployment, context.gates, context.scenario, context.fault)

    def headline(self, result: ProbeResult) -> dict[str, Any]:
        """Accuracy, weight deviation, p95, error rate, and the health reroute time when measured."""
        figures: dict[str, Any] = {}
        for key in ("accuracy", "weight_deviation", "p95_ms", "error_rate"):
            figures[f"routing_{key}"] = result.figures.get(key)
        if "health" in result.figures:
            figures["health_reroute_s"] = result.figures["health"]["last_routed_to_failed_s"]
        return figures


__all__ = ["RoutingProbe", "probe_routing"]
