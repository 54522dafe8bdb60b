"""Evidence other tiers leave for the report, and the shapes the report reads.

The performance and security tiers hand their results to the report in one of
two places; the report looks in the tier's record first (the tier's typed
evidence, ``TierResult.evidence``, copied into ``summary.json`` as
``tiers[].performance`` / ``tiers[].findings``) and then in the run folder (``performance.json`` / ``findings.json``).
Anything that does not match the shape is ignored rather than failing the page.

``performance`` (one load run)::

    {
      "users": 20, "duration_s": 60,                       # optional
      "requests": 12000, "failures": 3, "rps": 198.5,      # totals, optional
      "latency_ms": {"p50": 12, "p95": 48, "p99": 90, "max": 210},   # optional
      "timeline": [                                        # the charts; required for them
        {"t": 0, "p50": 11.0, "p95": 40.0, "p99": 80.0, "rps": 180.0, "errors": 0},
        ...                                                # t: seconds since the start; p99, errors optional
      ],
      "endpoints": [{"name": "GET /health", "requests": 100, "failures": 0,
                     "p50": 3, "p95": 9, "p99": 15, "rps": 10.0}],          # optional
      "artifacts": {"csv": "locust_stats.csv", "html": "locust.html"}      # optional, relative to the run dir
    }

``findings`` (security)::

    {"findings": [{"id": "B105", "title": "Hard-coded password", "severity": "high",
                   "location": "shop/config.py:12", "tool": "bandit", "detail": "..."}]}

(a bare list of findings is accepted too). A finding with ``suppressed_by`` (an
allow-list entry) is shown as accepted and left out of the severity counts.
The security tier also records its checks (``tiers[].security.checks``:
``[{name, status, reason}]``), which :func:`load_security_checks` reads so the
page can say which checks did not run and why.

The performance tier's own record is read too: its evidence's ``performance`` key
with ``{"summary": "<tier folder>/summary.json", "users", "total": {...}}``,
whose file holds ``stats.samples`` (``[{t, users, rps, p50_ms, p95_ms}]``),
``stats.total`` and ``stats.endpoints`` (``p50_ms``, ``p95_ms``, ``p99_ms``,
``max_ms``, ``rps``, ``requests``, ``failures``) and ``stats.rps_over_time``
(``[{t, requests, failures}]``); :func:`load_performance` turns that into the
shape above. ``severity`` is one of
``critical, high, medium, low, info``; anything else is shown as ``info``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def load_performance(record: Mapping[str, Any], run_dir: Path | None) -> dict[str, Any] | None:
    """The run's load-test summary, from a tier record or ``performance.json``; ``None`` if absent."""
    for tier in record.get("tiers") or ():
        if isinstance(tier, Mapping) and isinstance(tier.get("performance"), Mapping):
            return _clean_performance(_from_tier_record(tier["performance"], run_dir))
    if run_dir is not None:
        data = _read_json(run_dir / "performance.json")
        if isinstance(data, Mapping):
            return _clean_performance(_from_tier_record(data, run_dir))
    return None


def _from_tier_record(data: Mapping[str, Any], run_dir: Path | None) -> Mapping[str, Any]:
    """The performance tier's record (totals plus its summary file) in the documented shape."""
    if "timeline" in data:
        return data
    stats = data.get("stats")
    summary = data.get("summary")
    loaded: Any = data
    if not isinstance(stats, Mapping) and isinstance(summary, str):
        path = Path(summary)
        if not path.is_file() and run_dir is not None:
            path = run_dir / summary
        loaded = _read_json(path)
        stats = loaded.get("stats") if isinstance(loaded, Mapping) else None
    artifacts = loaded.get("artifacts") if isinstance(loaded, Mapping) else None
    stats = stats if isinstance(stats, Mapping) else {}
    total = stats.get("total") or data.get("total") or {}
    total = total if isinstance(total, Mapping) else {}
    samples = [s for s in stats.get("samples") or () if isinstance(s, Mapping)]
    if samples:
        timeline = [
            {
                "t": s.get("t"),
                "p50": s.get("p50_ms"),
                "p95": s.get("p95_ms"),
                "p99": s.get("p99_ms"),
                "rps": s.get("rps"),
            }
            for s in samples
        ]
    else:
        timeline = [
            {"t": s.get("t"), "rps": s.get("requests"), "errors": s.get("failures")}
            for s in stats.get("rps_over_time") or ()
            if isinstance(s, Mapping)
        ]
    endpoints = [
        {
            "name": e.get("name"),
            "requests": e.get("requests"),
            "failures": e.get("failures"),
            **{k: e.get(f"{k}_ms") for k in ("p50", "p95", "p99")},
            "rps": e.get("rps"),
        }
        for e in stats.get("endpoints") or ()
        if isinstance(e, Mapping)
    ]
    return {
        "users": data.get("users", stats.get("peak_users")),
        "duration_s": stats.get("duration_s"),
        "requests": total.get("requests"),
        "failures": total.get("failures"),
        "rps": total.get("rps"),
        "latency_ms": {k: total.get(f"{k}_ms") for k in ("p50", "p95", "p99", "max")},
        "timeline": timeline,
        "endpoints": endpoints,
        "scenario": data.get("scenario"),
        "artifacts": {
            k: v for k, v in (artifacts or {}).items() if k in ("html", "csv", "json") and isinstance(v, str)
        },
    }


def _clean_performance(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the timeline points whose numbers are numbers, sorted by time."""
    points = []
    for raw in data.get("timeline") or ():
        if not isinstance(raw, Mapping) or _number(raw.get("t")) is None:
            continue
        point = {k: _number(raw.get(k)) for k in ("t", "p50", "p95", "p99", "rps", "errors")}
        points.append(point)
    points.sort(key=lambda p: p["t"] or 0.0)
    cleaned = dict(data)
    cleaned["timeline"] = points
    latency = data.get("latency_ms")
    cleaned["latency_ms"] = (
        {k: _number(v) for k, v in latency.items() if _number(v) is not None}
        if isinstance(latency, Mapping)
        else {}
    )
    return cleaned


def p95_ms(performance: Mapping[str, Any] | None) -> float | None:
    """The run's overall p95 latency: ``latency_ms.p95``, else the worst p95 in the timeline."""
    if not performance:
        return None
    overall = performance.get("latency_ms", {}).get("p95")
    if isinstance(overall, float | int):
        return float(overall)
    values = [p["p95"] for p in performance.get("timeline", ()) if p.get("p95") is not None]
    return max(values) if values else None


def load_security_checks(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """The security tier's checks (name, status, reason); empty when no security tier ran."""
    for tier in record.get("tiers") or ():
        security = tier.get("security") if isinstance(tier, Mapping) else None
        if isinstance(security, Mapping) and isinstance(security.get("checks"), list):
            return [
                {k: str(c.get(k, "")) for k in ("name", "status", "reason")}
                for c in security["checks"]
                if isinstance(c, Mapping)
            ]
    return []


def load_findings(record: Mapping[str, Any], run_dir: Path | None) -> list[dict[str, str]] | None:
    """Security findings from a tier record or ``findings.json``; ``None`` if no scan left any."""
    raw: object = None
    for tier in record.get("tiers") or ():
        if isinstance(tier, Mapping) and tier.get("findings") is not None:
            raw = tier["findings"]
            break
    if raw is None and run_dir is not None:
        raw = _read_json(run_dir / "findings.json")
    if isinstance(raw, Mapping):
        raw = raw.get("findings")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return None
    findings = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        severity = str(item.get("severity", "info")).lower()
        findings.append(
            {
                "id": str(item.get("id", "")),
                "title": str(item.get("title", "")),
                "severity": severity if severity in SEVERITIES else "info",
                "location": str(item.get("location", "")),
                "tool": str(item.get("tool", "")),
                "detail": str(item.get("detail", "")),
                "accepted": str(item.get("suppressed_by") or ""),
            }
        )
    findings.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["id"]))
    return findings
