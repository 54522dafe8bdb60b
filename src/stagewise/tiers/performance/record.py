"""The performance tier's records: the resolved run, each Locust attempt, the verdict, its files.

Split from :mod:`stagewise.tiers.performance.runner` (which runs Locust) so
each module has one job: this one shapes what a run leaves behind — the
terminal table, ``performance/summary.json`` and the tier's evidence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stagewise.project.performance import PerformanceConfig, Scenario
from stagewise.tiers.performance.gates import GateCheck
from stagewise.tiers.performance.scenarios import LoadRequest
from stagewise.tiers.performance.stats import LoadStats
from stagewise.tiers.result import RecordEvidence, TierStatus

SUMMARY_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PerformanceRun:
    """Everything one performance tier needs, fully resolved by the pipeline."""

    python: str
    cwd: Path
    locustfiles: tuple[str, ...]
    target: str
    env: Mapping[str, str]
    out_dir: Path
    log_path: Path
    junit_path: Path
    config: PerformanceConfig
    request: LoadRequest = field(default_factory=LoadRequest)
    verbose: bool = False
    run_id: str = ""
    secrets: tuple[str, ...] = ()


@dataclass
class Attempt:
    """One Locust process: its command, exit code, statistics and checks."""

    label: str
    users: int
    command: list[str]
    code: int = 0
    stats: LoadStats | None = None
    problem: str = ""
    checks: list[GateCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[GateCheck]:
        return [c for c in self.checks if not c.passed]


@dataclass
class Outcome:
    status: TierStatus
    message: str
    checks: list[GateCheck]
    notes: list[str] = field(default_factory=list)
    breaking_point: int | None = None
    baseline: dict[str, Any] = field(default_factory=dict)


def render_outcome(outcome: Outcome, attempts: list[Attempt]) -> list[str]:
    lines: list[str] = []
    for attempt in attempts:
        stats = attempt.stats
        if stats is None:
            continue
        if len(attempts) > 1:
            lines.append(f"{attempt.label}:")
        lines.append(
            f"  {'endpoint':<32} {'reqs':>7} {'fails':>6} {'req/s':>8} {'p50':>6} {'p95':>6} {'p99':>6} ms"
        )
        for endpoint in (*stats.endpoints, stats.total):
            lines.append(
                f"  {endpoint.name[:32]:<32} {endpoint.requests:>7} {endpoint.failures:>6} "
                f"{endpoint.rps:>8.1f} {endpoint.p50_ms:>6.0f} {endpoint.p95_ms:>6.0f} "
                f"{endpoint.p99_ms:>6.0f}"
            )
        if stats.generator is not None:
            lines.append(f"  {stats.generator.describe()}")
        if stats.errors:
            lines.append(
                "  errors: "
                + "; ".join(f"{e.endpoint}: {e.error} x{e.occurrences}" for e in stats.errors[:5])
            )
    lines += [f"  {c.message}" for c in outcome.checks if not c.passed]
    lines += [f"  {note}" for note in outcome.notes]
    return lines


def interesting_line(tail: list[str]) -> str:
    for marker in ("Error", "error", "Exception", "No User class", "Traceback"):
        for line in reversed(tail):
            if marker in line:
                return line.strip()[:300]
    return tail[-1].strip()[:300] if tail else "(no output)"


def write_summary(
    path: Path,
    *,
    run: PerformanceRun,
    scenario: Scenario,
    attempts: list[Attempt],
    outcome: Outcome,
    duration: float,
) -> None:
    last = attempts[-1]
    record = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": run.run_id,
        "scenario": {k: v for k, v in asdict(scenario).items() if k != "gates"},
        "target": run.target,
        "status": outcome.status.value,
        "message": outcome.message,
        "duration_s": round(duration, 3),
        "locust_exit_code": last.code,
        "command": last.command,
        "stats": last.stats.as_dict() if last.stats is not None else None,
        "gates": [c.as_dict() for c in outcome.checks],
        "notes": outcome.notes,
        "breaking_point": outcome.breaking_point,
        "baseline": outcome.baseline,
        "steps": [
            {
                "label": a.label,
                "users": a.users,
                "passed": not a.failed and not a.problem,
                "stats": a.stats.as_dict() if a.stats is not None else None,
                "failed_gates": [c.message for c in a.failed],
            }
            for a in attempts
        ]
        if scenario.kind == "stress"
        else [],
        "artifacts": {
            "html": str(path.parent / "locust.html") if scenario.kind != "stress" else None,
            "csv_prefix": str(path.parent / "locust"),
            "json": str(path.parent / "locust.json"),
            "log": str(run.log_path),
        },
    }
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def evidence_of(summary: Path, scenario: Scenario, last: Attempt, outcome: Outcome) -> RecordEvidence:
    """The tier's ``performance`` key of summary.json (shape read by stagewise.report.artifacts)."""
    total = last.stats.total.as_dict() if last.stats is not None else None
    return RecordEvidence(
        "performance",
        {
            "summary": str(summary),
            "scenario": scenario.name,
            "kind": scenario.kind,
            "users": last.users,
            "total": total,
            "breaking_point": outcome.breaking_point,
            "baseline": outcome.baseline,
        },
    )
