"""Judge a Locust run against its gates: latency percentiles, error rate, throughput.

Every endpoint Locust reports meets the latency and error-rate limits that
apply to it; all requests together meet the error-rate limit and the
throughput floor (``min_rps``), plus any limit set under the endpoint key
``"all requests"``. An endpoint gets ``min_rps`` only when it sets its own. A check's message
says the gate, the endpoint, the measured value and the limit, e.g.
``gate p95 on GET /slow: 812 ms > 200 ms``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from stagewise.project.performance import GateLimits, Gates
from stagewise.tiers.performance.stats import ALL_REQUESTS, EndpointStats, LoadStats

_LATENCIES = (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))


@dataclass(frozen=True)
class GateCheck:
    """One limit checked against one measurement."""

    gate: str
    endpoint: str
    measured: float
    limit: float
    passed: bool
    message: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def latency_check(gate: str, endpoint: str, measured: float, limit: float) -> GateCheck:
    passed = measured <= limit
    sign = "<=" if passed else ">"
    return GateCheck(
        gate,
        endpoint,
        measured,
        limit,
        passed,
        f"gate {gate} on {endpoint}: {measured:.0f} ms {sign} {limit:g} ms",
    )


def error_rate_check(endpoint: str, measured: float, limit: float) -> GateCheck:
    passed = measured <= limit
    sign = "<=" if passed else ">"
    return GateCheck(
        "error_rate",
        endpoint,
        measured,
        limit,
        passed,
        f"gate error_rate on {endpoint}: {measured:.1f}% {sign} {limit:g}%",
    )


def min_rps_check(endpoint: str, measured: float, limit: float) -> GateCheck:
    passed = measured >= limit
    sign = ">=" if passed else "<"
    return GateCheck(
        "min_rps",
        endpoint,
        measured,
        limit,
        passed,
        f"gate min_rps on {endpoint}: {measured:.1f} req/s {sign} {limit:g} req/s",
    )


def _checks_for(endpoint: EndpointStats, limits: GateLimits, with_rps: bool) -> list[GateCheck]:
    checks = []
    for gate, attribute in _LATENCIES:
        limit = getattr(limits, attribute)
        if limit is not None:
            checks.append(latency_check(gate, endpoint.name, getattr(endpoint, attribute), limit))
    if limits.error_rate is not None:
        checks.append(error_rate_check(endpoint.name, endpoint.error_rate, limits.error_rate))
    if with_rps and limits.min_rps is not None:
        checks.append(min_rps_check(endpoint.name, endpoint.rps, limits.min_rps))
    return checks


def check_gates(stats: LoadStats, gates: Gates) -> list[GateCheck]:
    """Every check for this run, failed ones first, each endpoint in name order."""
    checks: list[GateCheck] = []
    for endpoint in stats.endpoints:
        if endpoint.requests == 0:
            continue
        own = gates.endpoints.get(endpoint.name)
        with_rps = own is not None and own.min_rps is not None
        checks += _checks_for(endpoint, gates.for_endpoint(endpoint.name), with_rps)
    # All requests together carry the error-rate and throughput floors; latency limits
    # apply per endpoint (a slow endpoint with its own limit must not fail the total).
    overall = GateLimits(error_rate=gates.default.error_rate, min_rps=gates.default.min_rps)
    own_total = gates.endpoints.get(ALL_REQUESTS)
    checks += _checks_for(stats.total, overall if own_total is None else overall.over(own_total), True)
    for name in sorted(n for n in gates.endpoints if n != ALL_REQUESTS):
        seen = stats.endpoint(name)
        if seen is None or seen.requests == 0:
            checks.append(
                GateCheck("requests", name, 0, 1, False, f"gate on {name}: Locust made no requests to it")
            )
    return sorted(checks, key=lambda c: c.passed)


__all__ = ["GateCheck", "check_gates", "error_rate_check", "latency_check", "min_rps_check"]
