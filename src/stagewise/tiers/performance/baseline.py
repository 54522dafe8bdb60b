"""Baselines: one scenario's saved figures, and the regression check against them.

``--save-baseline`` writes ``<baseline_dir>/<scenario>.json`` (meant to be
committed, so every machine compares with the same numbers); ``--baseline``
compares this run with it under the project's :class:`Tolerance`. Every run
keeps its own figures in its report folder whether or not it saves them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stagewise.project.performance import Tolerance
from stagewise.tiers.performance.gates import GateCheck
from stagewise.tiers.performance.stats import ALL_REQUESTS, EndpointStats, LoadStats

SCHEMA_VERSION = 1


class BaselineUnavailable(Exception):
    """There is no usable baseline for the scenario (the message says how to record one)."""


def baseline_file(root: Path, baseline_dir: str, scenario: str) -> Path:
    """Where the scenario's baseline lives inside the project."""
    return root / baseline_dir / f"{scenario}.json"


def _figures(endpoint: EndpointStats) -> dict[str, float]:
    return {
        "requests": endpoint.requests,
        "p50_ms": endpoint.p50_ms,
        "p95_ms": endpoint.p95_ms,
        "p99_ms": endpoint.p99_ms,
        "rps": round(endpoint.rps, 3),
        "error_rate": round(endpoint.error_rate, 3),
    }


def save_baseline(path: Path, scenario: str, stats: LoadStats, meta: Mapping[str, Any]) -> None:
    """Write the baseline atomically (a crash never leaves half a file behind)."""
    record = {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
        "endpoints": {e.name: _figures(e) for e in (*stats.endpoints, stats.total)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def load_baseline(path: Path, scenario: str) -> Mapping[str, Any]:
    """The saved baseline, or :class:`BaselineUnavailable` saying how to record one."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BaselineUnavailable(
            f"no baseline for scenario {scenario} at {path}: record one with "
            f"`stagewise test --performance --scenario {scenario} --save-baseline`"
        ) from exc
    except (OSError, ValueError) as exc:
        raise BaselineUnavailable(f"baseline {path} cannot be read: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("endpoints"), dict):
        raise BaselineUnavailable(f"baseline {path} has no endpoints table; record it again")
    if record.get("schema_version") != SCHEMA_VERSION:
        raise BaselineUnavailable(f"baseline {path} has schema version {record.get('schema_version')!r}")
    return record


def _pct(current: float, base: float) -> str:
    if base == 0:
        return "new" if current else "+0%"
    return f"{100.0 * (current - base) / base:+.0f}%"


def _latency(
    name: str, gate: str, current: float, base: float, *, tolerance: float, min_ms: float
) -> GateCheck:
    limit = base * (1 + tolerance / 100)
    passed = current <= limit or current - base <= min_ms
    change = _pct(current, base)
    if passed:
        message = (
            f"{gate} on {name}: {current:.0f} ms vs baseline {base:.0f} ms ({change}, within +{tolerance:g}%)"
        )
    else:
        message = (
            f"regression {gate} on {name}: {current:.0f} ms vs baseline {base:.0f} ms "
            f"({change}, tolerance +{tolerance:g}%)"
        )
    return GateCheck(f"regression {gate}", name, current, limit, passed, message)


def _rps(name: str, current: float, base: float, tolerance: float) -> GateCheck:
    limit = base * (1 - tolerance / 100)
    passed = current >= limit
    change = _pct(current, base)
    word = "" if passed else "regression "
    verdict = f"within -{tolerance:g}%" if passed else f"tolerance -{tolerance:g}%"
    message = f"{word}rps on {name}: {current:.1f} req/s vs baseline {base:.1f} req/s ({change}, {verdict})"
    return GateCheck("regression rps", name, current, limit, passed, message)


def _errors(name: str, current: float, base: float, tolerance: float) -> GateCheck:
    limit = base + tolerance
    passed = current <= limit
    word = "" if passed else "regression "
    verdict = "within" if passed else "tolerance"
    message = (
        f"{word}error_rate on {name}: {current:.1f}% vs baseline {base:.1f}% "
        f"({verdict} +{tolerance:g} points)"
    )
    return GateCheck("regression error_rate", name, current, limit, passed, message)


def compare_with_baseline(
    baseline: Mapping[str, Any], stats: LoadStats, tolerance: Tolerance
) -> tuple[list[GateCheck], list[str]]:
    """Regression checks (failed first) and notes about endpoints that came or went."""
    checks: list[GateCheck] = []
    notes: list[str] = []
    saved: Mapping[str, Mapping[str, float]] = baseline["endpoints"]
    current_names = {e.name for e in stats.endpoints} | {ALL_REQUESTS}
    for name in sorted(set(saved) - current_names):
        notes.append(f"{name} is in the baseline but was not requested this run")
    for name in sorted(current_names - set(saved)):
        notes.append(f"{name} is new since the baseline (no comparison)")
    for name in sorted(current_names & set(saved)):
        current = stats.endpoint(name)
        base = saved[name]
        if current is None or not current.requests:
            continue
        for gate in ("p50", "p95", "p99"):
            allowed = getattr(tolerance, gate)
            if allowed is not None and f"{gate}_ms" in base:
                measured = getattr(current, f"{gate}_ms")
                checks.append(
                    _latency(
                        name,
                        gate,
                        measured,
                        float(base[f"{gate}_ms"]),
                        tolerance=allowed,
                        min_ms=tolerance.min_ms,
                    )
                )
        if tolerance.rps is not None and "rps" in base:
            checks.append(_rps(name, current.rps, float(base["rps"]), tolerance.rps))
        if tolerance.error_rate is not None and "error_rate" in base:
            checks.append(_errors(name, current.error_rate, float(base["error_rate"]), tolerance.error_rate))
    return sorted(checks, key=lambda c: c.passed), notes


__all__ = [
    "BaselineUnavailable",
    "baseline_file",
    "compare_with_baseline",
    "load_baseline",
    "save_baseline",
]
