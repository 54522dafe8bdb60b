"""Write ``summary.json`` (schema-versioned) and append to ``history.jsonl``.

Schema version 1 (``summary.json``)::

    schema_version: 1
    run_id, stage, target, started_at, duration_s, verdict, exit_code
    coverage_percent: float | null
    tiers: [{name, status, passed, failed, errors, skipped, tests,
             duration_s, message, junit, log, failed_tests: [{name, kind, message}]}]
    gates: [{name, measured, limit, passed, message}]
    stagewise_version

Keys are only ever added within a version; renaming or removing one bumps it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stagewise import __version__
from stagewise.pipeline.results import RunResult
from stagewise.tiers.result import TierResult

SCHEMA_VERSION = 1


def tier_record(tier: TierResult) -> dict[str, Any]:
    """One tier as it appears in summary.json."""
    return {
        "name": tier.name,
        "status": tier.status.value,
        "tests": tier.counts.tests,
        "passed": tier.counts.passed,
        "failed": tier.counts.failures,
        "errors": tier.counts.errors,
        "skipped": tier.counts.skipped,
        "duration_s": round(tier.duration, 3),
        "message": tier.message,
        "junit": tier.junit_path,
        "log": tier.log_path,
        "failed_tests": [{"name": f.name, "kind": f.kind, "message": f.message} for f in tier.failed_tests],
    }


def run_record(result: RunResult) -> dict[str, Any]:
    """The whole run as summary.json holds it."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": result.run_id,
        "stage": result.stage,
        "target": result.target,
        "started_at": result.started_at,
        "duration_s": round(result.duration, 3),
        "verdict": result.verdict,
        "exit_code": int(result.exit_code),
        "coverage_percent": result.coverage_percent,
        "tiers": [tier_record(t) for t in result.tiers],
        "gates": [g.__dict__ for g in result.gates],
        "stagewise_version": __version__,
    }


def write_run_record(result: RunResult, reports_root: Path, run_dir: Path) -> Path:
    """Write summary.json atomically and append one line to history.jsonl."""
    record = run_record(result)
    summary = run_dir / "summary.json"
    temporary = run_dir / ".summary.json.tmp"
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, summary)
    line = {
        k: record[k] for k in ("run_id", "stage", "verdict", "exit_code", "duration_s", "coverage_percent")
    }
    line["tiers"] = {t["name"]: t["status"] for t in record["tiers"]}
    with (reports_root / "history.jsonl").open("a", encoding="utf-8") as history:
        history.write(json.dumps(line) + "\n")
    return summary
