"""Write ``summary.json`` (schema-versioned) and append to ``history.jsonl``.

Schema version 1 (``summary.json``)::

    schema_version: 1
    run_id, stage, target, started_at, duration_s, verdict, exit_code
    coverage_percent: float | null
    tiers: [{name, status, passed, failed, errors, skipped, tests,
             duration_s, message, junit, log, failed_tests: [{name, kind, message}]}]
    gates: [{name, measured, limit, passed, message}]
    stagewise_version

Added in version 1 (issue 7, reports)::

    run_dir: str                       # this run's folder
    page: "index.html"                 # the self-contained report page, relative to run_dir
    flaky: int                         # flaky tests over all tiers
    tiers[].flaky: int                 # tests that failed, then passed on a rerun
    tiers[].flaky_tests: [{name, reruns}]
    tiers[].reruns: int                # --reruns N the tier ran with (0: none)
    tiers[].passed                     # excludes flaky: tests = passed+failed+errors+skipped+flaky
    tiers[].xfailed, tiers[].xpassed: int   # apart from skipped and passed (issue 14)
    tiers[].deselected: int            # left out by -m/-k: not in tests
                                       # tests = passed+failed+errors+skipped+flaky+xfailed+xpassed
    tiers[].failed_tests[].name        # pytest tiers: the node id (tests/test_a.py::test_x[1])
    tiers[].performance, tiers[].findings   # only when the tier's evidence writes them
                                       # (shapes in stagewise.report.artifacts)
    tiers[].security                   # the security tier: {findings_json, sarif, counts, fail_on,
                                       #   checks: [{name, status, reason, findings, duration_s, ...}]}
    tiers[].resilience                 # the resilience tier: {summary, scenario, figures: {rto_s, ...}}
    gates[].applicable: bool           # false: the gate did not apply to this run (message says why);
                                       #   such a gate has passed = true and never fails the run
    git: {commit, branch, dirty} | null
    tool_versions: {python, pytest, ..., stagewise}

Added in version 1 (issue 17, ``stagewise check``)::

    command: "test" | "check"          # the command that made the run
    profile: str | null                # the profile a test run ran under (--profile NAME)
    tiers[].status: "not-run"          # a check step whose tool is not there (message says why)
    tiers[].check                      # a check step: {step, tool, command, exit_code, problems, required}

Added in version 1 (issue 17, ``--changed``)::

    tiers[].status: "skipped-by-change"  # --changed: no test of the tier is affected (message says why)
    verdict: "nothing affected"          # --changed: every tier was skipped by the change (exit 0)
    changed: {ref, commit, files}        # --changed: what the run compared with, the changed files

Keys are only ever added within a version; renaming or removing one bumps it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stagewise import __version__
from stagewise.report.flaky import clean_passed, flaky_tests
from stagewise.report.history import append_history
from stagewise.tiers.result import RunResult, TierResult

SCHEMA_VERSION = 1


def tier_record(tier: TierResult) -> dict[str, Any]:
    """One tier as it appears in summary.json (its evidence adds its own keys)."""
    record: dict[str, Any] = {
        "name": tier.name,
        "status": tier.status.value,
        "tests": tier.counts.tests,
        "passed": clean_passed(tier),
        "failed": tier.counts.failures,
        "errors": tier.counts.errors,
        "skipped": tier.counts.skipped,
        "xfailed": tier.counts.xfailed,
        "xpassed": tier.counts.xpassed,
        "deselected": tier.counts.deselected,
        "duration_s": round(tier.duration, 3),
        "message": tier.message,
        "junit": tier.junit_path,
        "log": tier.log_path,
        "failed_tests": [{"name": f.name, "kind": f.kind, "message": f.message} for f in tier.failed_tests],
        "flaky": len(flaky_tests(tier)),
        "flaky_tests": [{"name": f.name, "reruns": f.reruns} for f in flaky_tests(tier)],
        "reruns": tier.reruns,
        "counted": tier.counted,
    }
    for evidence in tier.evidence:  # each tier writes its own part of the record
        record.update(evidence.record())
    return record


def run_record(result: RunResult, info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whole run as summary.json holds it; ``info`` adds ``git`` and ``tool_versions``."""
    tiers = [tier_record(t) for t in result.tiers]
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
        "tiers": tiers,
        "gates": [g.__dict__ for g in result.gates],
        "stagewise_version": __version__,
        "run_dir": result.run_dir,
        "page": "index.html",
        "flaky": sum(t["flaky"] for t in tiers),
        "git": None,
        "tool_versions": {},
        "command": result.command,
        "profile": result.profile,
        **({"changed": result.changed} if result.changed is not None else {}),
        **(info or {}),
    }


def write_run_record(
    result: RunResult, reports_root: Path, run_dir: Path, info: Mapping[str, Any] | None = None
) -> Path:
    """Write summary.json atomically and append one line to history.jsonl."""
    record = run_record(result, info)
    summary = run_dir / "summary.json"
    temporary = run_dir / ".summary.json.tmp"
    temporary.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, summary)
    append_history(reports_root, record, run_dir)
    return summary
