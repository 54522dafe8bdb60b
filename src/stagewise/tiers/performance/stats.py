"""Read what a Locust run left behind into one typed :class:`LoadStats`.

The numbers come from Locust's ``--json-file`` (written once, at the end, with
every endpoint's full response-time histogram) so they are final; Locust's
CSV files are written on a timer and may miss the last second, so they are
kept as evidence but not read. What the JSON file lacks (users over time,
failures by type, exceptions, the host Locust really used) comes from the
stagewise probe that runs inside Locust.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stagewise.tiers.performance.generator import GeneratorLoad, read_generator

#: The name gates, baselines and messages use for Locust's "Aggregated" row.
ALL_REQUESTS = "all requests"


class StatsUnreadable(Exception):
    """Locust's output is missing or malformed (the tier reports it, with Locust's output)."""


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint's totals (or all requests'), latencies in milliseconds."""

    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    avg_ms: float
    min_ms: float
    max_ms: float

    @property
    def error_rate(self) -> float:
        """Failed requests as a percentage of all requests (0 when none were made)."""
        return 100.0 * self.failures / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": self.requests,
            "failures": self.failures,
            "error_rate": round(self.error_rate, 3),
            "rps": round(self.rps, 3),
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "avg_ms": round(self.avg_ms, 3),
            "min_ms": round(self.min_ms, 3),
            "max_ms": round(self.max_ms, 3),
        }


@dataclass(frozen=True)
class ErrorCount:
    """Failures of one kind on one endpoint, as Locust grouped them."""

    endpoint: str
    error: str
    occurrences: int


@dataclass(frozen=True)
class LoadStats:
    """A finished Locust run: endpoints, totals, series over time, errors."""

    endpoints: tuple[EndpointStats, ...]
    total: EndpointStats
    duration_s: float
    rps_over_time: tuple[tuple[int, int, int], ...]
    samples: tuple[Mapping[str, Any], ...] = ()
    errors: tuple[ErrorCount, ...] = ()
    exceptions: tuple[tuple[int, str], ...] = ()
    host: str | None = None
    peak_users: int = 0
    generator: GeneratorLoad | None = None

    def endpoint(self, name: str) -> EndpointStats | None:
        """The named endpoint (``"GET /x"``) or, for :data:`ALL_REQUESTS`, the totals."""
        if name == ALL_REQUESTS:
            return self.total
        return next((e for e in self.endpoints if e.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form the run report reads (see ``summary.json`` in the tier folder)."""
        errors_by_type: dict[str, int] = {}
        for error in self.errors:
            errors_by_type[error.error] = errors_by_type.get(error.error, 0) + error.occurrences
        return {
            "host": self.host,
            "duration_s": round(self.duration_s, 3),
            "peak_users": self.peak_users,
            "total": self.total.as_dict(),
            "endpoints": [e.as_dict() for e in self.endpoints],
            "rps_over_time": [{"t": t, "requests": r, "failures": f} for t, r, f in self.rps_over_time],
            "samples": [dict(s) for s in self.samples],
            "errors": [
                {"endpoint": e.endpoint, "error": e.error, "occurrences": e.occurrences} for e in self.errors
            ],
            "errors_by_type": errors_by_type,
            "exceptions": [{"count": c, "message": m} for c, m in self.exceptions],
            "generator": self.generator.as_dict() if self.generator is not None else None,
        }


def percentile(histogram: Mapping[int, int], total: int, fraction: float) -> float:
    """Locust's own percentile over its rounded response-time histogram.

    Same algorithm as ``locust.stats.calculate_response_time_percentile``, so
    the figures match Locust's HTML report and console summary.
    """
    if total == 0:
        return 0.0
    wanted = int(total * fraction)
    processed = 0
    for response_time in sorted(histogram, reverse=True):
        processed += histogram[response_time]
        if total - processed <= wanted:
            return float(response_time)
    return 0.0


def _histogram(raw: object) -> dict[int, int]:
    if not isinstance(raw, dict):
        raise StatsUnreadable("response_times is not a table")
    return {int(float(k)): int(v) for k, v in raw.items()}


def _endpoint(name: str, entries: Sequence[Mapping[str, Any]], span: float) -> EndpointStats:
    histogram: dict[int, int] = {}
    requests = failures = 0
    total_time = 0.0
    low, high = float("inf"), 0.0
    for entry in entries:
        for response_time, count in _histogram(entry.get("response_times", {})).items():
            histogram[response_time] = histogram.get(response_time, 0) + count
        requests += int(entry["num_requests"])
        failures += int(entry["num_failures"])
        total_time += float(entry["total_response_time"])
        if entry.get("min_response_time") is not None:
            low = min(low, float(entry["min_response_time"]))
        high = max(high, float(entry.get("max_response_time") or 0.0))
    counted = sum(histogram.values())
    return EndpointStats(
        name=name,
        requests=requests,
        failures=failures,
        rps=requests / span if span > 0 else 0.0,
        p50_ms=percentile(histogram, counted, 0.50),
        p95_ms=percentile(histogram, counted, 0.95),
        p99_ms=percentile(histogram, counted, 0.99),
        avg_ms=total_time / requests if requests else 0.0,
        min_ms=low if requests and low != float("inf") else 0.0,
        max_ms=high,
    )


def read_stats(
    json_file: Path, probe_file: Path | None = None, generator_dir: Path | None = None
) -> LoadStats:
    """Parse Locust's ``--json-file`` (and the probe's and the generator meter's files, when present)."""
    try:
        entries = json.loads(json_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StatsUnreadable(f"Locust wrote no statistics ({json_file.name} is missing)") from exc
    except (OSError, ValueError) as exc:
        raise StatsUnreadable(f"cannot read {json_file}: {exc}") from exc
    if not isinstance(entries, list):
        raise StatsUnreadable(f"{json_file} is not a list of endpoint statistics")
    try:
        stats = _build(entries, _read_probe(probe_file))
        if generator_dir is not None:
            stats = replace(stats, generator=read_generator(generator_dir))
        return stats
    except (KeyError, TypeError, ValueError) as exc:
        raise StatsUnreadable(f"unexpected content in {json_file}: {exc!r}") from exc


def _read_probe(probe_file: Path | None) -> Mapping[str, Any]:
    if probe_file is None:
        return {}
    try:
        probe = json.loads(probe_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return probe if isinstance(probe, dict) else {}


def _exception_text(exception: Mapping[str, Any]) -> str:
    """Locust's message plus the line that raised it (the message alone can be just "planted")."""
    lines = [line for line in str(exception.get("traceback", "")).splitlines() if line.strip()]
    message = str(exception.get("msg", "")).strip() or "(no message)"
    return f"{message} (at: {lines[-1].strip()})" if lines else message


def _build(entries: list[Mapping[str, Any]], probe: Mapping[str, Any]) -> LoadStats:
    starts = [float(e["start_time"]) for e in entries if e.get("num_requests")]
    ends = [float(e["last_request_timestamp"] or 0) for e in entries if e.get("num_requests")]
    span = max(ends) - min(starts) if starts else 0.0
    span = max(span, 1.0) if starts else 0.0
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        grouped.setdefault(f"{entry['method']} {entry['name']}", []).append(entry)
    endpoints = tuple(_endpoint(name, group, span) for name, group in sorted(grouped.items()))
    per_second: dict[int, list[int]] = {}
    for entry in entries:
        for stamp, count in (entry.get("num_reqs_per_sec") or {}).items():
            per_second.setdefault(int(float(stamp)), [0, 0])[0] += int(count)
        for stamp, count in (entry.get("num_fail_per_sec") or {}).items():
            per_second.setdefault(int(float(stamp)), [0, 0])[1] += int(count)
    first = min(per_second, default=0)
    series = tuple((stamp - first, r, f) for stamp, (r, f) in sorted(per_second.items()))
    errors = tuple(
        ErrorCount(f"{e.get('method')} {e.get('name')}", str(e.get("error")), int(e.get("occurrences", 0)))
        for e in probe.get("errors", [])
        if isinstance(e, dict)
    )
    exceptions = tuple(
        (int(e.get("count", 0)), _exception_text(e))
        for e in probe.get("exceptions", [])
        if isinstance(e, dict)
    )
    samples = tuple(s for s in probe.get("samples", []) if isinstance(s, dict))
    host = probe.get("host")
    return LoadStats(
        endpoints=endpoints,
        total=_endpoint(ALL_REQUESTS, entries, span),
        duration_s=span,
        rps_over_time=series,
        samples=samples,
        errors=errors,
        exceptions=exceptions,
        host=host if isinstance(host, str) else None,
        peak_users=int(probe.get("peak_users") or 0),
    )
