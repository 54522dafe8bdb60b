"""The security tier's evidence: findings.json, SARIF, JUnit, and a summary a person reads.

``findings.json`` (schema version 1)::

    schema_version: 1
    target, fail_on, passed: bool, allowlist: str | null
    counts: {critical, high, medium, low, info}        # active findings (not suppressed)
    checks: [{name, status, reason, findings, duration_s, command, notes}]
    findings: [{id, title, severity, check, tool, location, evidence, fix, detail, suppressed_by}]
    notes: [str]                                       # e.g. allow-list entries that expired

SARIF 2.1.0 (``findings.sarif``, for code scanning) is written by
:mod:`stagewise.tiers.security.sarif`.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stagewise.project.security import SEVERITIES
from stagewise.tiers.junit import write_xml
from stagewise.tiers.security.findings import CheckOutcome, CheckStatus, Finding, at_or_above, severity_rank
from stagewise.tiers.security.grouping import grouped_lines

SCHEMA_VERSION = 1


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def active(findings: Sequence[Finding]) -> list[Finding]:
    """The findings the gate counts: not suppressed by the allow-list."""
    return [f for f in findings if f.suppressed_by is None]


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    """Active findings per severity, every severity present."""
    live = active(findings)
    return {s: sum(1 for f in live if f.severity == s) for s in SEVERITIES}


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (severity_rank(f.severity), f.check, f.id, f.location))


def findings_document(
    *,
    target: str,
    fail_on: str,
    passed: bool,
    allowlist: str | None,
    outcomes: Sequence[CheckOutcome],
    findings: Sequence[Finding],
    notes: Sequence[str],
) -> dict[str, Any]:
    """The findings.json record."""
    return {
        "schema_version": SCHEMA_VERSION,
        "target": target,
        "fail_on": fail_on,
        "passed": passed,
        "allowlist": allowlist,
        "counts": counts(findings),
        "checks": [o.as_dict() for o in outcomes],
        "findings": [f.as_dict() for f in sort_findings(findings)],
        "notes": list(notes),
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    _atomic_write(path, json.dumps(document, indent=2) + "\n")


def summary_lines(
    outcomes: Sequence[CheckOutcome], findings: Sequence[Finding], fail_on: str, notes: Sequence[str]
) -> list[str]:
    """The readable summary: each check's status, then the findings grouped by severity
    (below the gate, one line per id)."""
    lines = ["checks:"]
    lines += [f"  {o.describe()}" for o in outcomes]
    lines += [f"  {o.name}: {note}" for o in outcomes for note in o.notes]
    ordered = sort_findings(findings)
    for severity in SEVERITIES:
        group = [f for f in ordered if f.severity == severity]
        if not group:
            continue
        live = [f for f in group if f.suppressed_by is None]
        gate = " (fails the gate)" if live and at_or_above(severity, fail_on) else ""
        lines.append(
            f"{severity.upper()} ({len(live)}{f', {len(group) - len(live)} accepted' if len(live) < len(group) else ''}){gate}:"
        )
        if not at_or_above(severity, fail_on):  # below the gate: one line per id (grouping.py)
            lines += grouped_lines(group)
            continue
        for finding in group:
            accepted = " [accepted]" if finding.suppressed_by is not None else ""
            lines.append(f"  {finding.id} {finding.title} at {finding.location}{accepted}")
            lines.append(f"      evidence: {finding.evidence}")
            lines.append(f"      fix: {finding.fix}")
    if not findings:
        lines.append("no findings")
    lines += [f"note: {note}" for note in notes]
    return lines


def write_junit(path: Path, outcomes: Sequence[CheckOutcome], fail_on: str, duration: float) -> None:
    """One test case per check: a failure for findings at/above the gate, skipped when not run."""
    suite = ET.Element("testsuite", name="security", time=f"{duration:.3f}")
    failures = errors = skipped = 0
    for outcome in outcomes:
        case = ET.SubElement(
            suite, "testcase", classname="security", name=outcome.name, time=f"{outcome.duration:.3f}"
        )
        gating = [f for f in active(outcome.findings) if at_or_above(f.severity, fail_on)]
        if outcome.status in (CheckStatus.NOT_RUN, CheckStatus.MISSING):
            skipped += 1
            ET.SubElement(case, "skipped", message=f"not run: {outcome.reason}")
        elif outcome.status is CheckStatus.ERROR:
            errors += 1
            ET.SubElement(case, "error", message=outcome.reason, type="check-error").text = outcome.reason
        elif gating:
            failures += 1
            message = f"{len(gating)} finding(s) at or above {fail_on}: " + "; ".join(
                f"{f.id} {f.title} at {f.location}" for f in gating[:5]
            )
            failure = ET.SubElement(case, "failure", message=message, type="findings")
            failure.text = "\n".join(
                f"{f.severity} {f.id} {f.title} at {f.location}: {f.evidence}" for f in gating
            )
        else:
            ET.SubElement(case, "system-out").text = outcome.describe()
    suite.set("tests", str(len(outcomes)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites")
    root.append(suite)
    write_xml(path, root)


__all__ = [
    "SCHEMA_VERSION",
    "active",
    "counts",
    "findings_document",
    "sort_findings",
    "summary_lines",
    "write_json",
    "write_junit",
]
