"""Findings below the gate, one terminal line per rule id with a count.

Low findings drown the rest otherwise: schemathesis's undocumented-status-code
check alone reported 21 on one small app, each with three lines of evidence,
above nothing that needed doing. Findings at or above ``security.fail_on``
keep their full evidence and fix in the terminal; the ones below are grouped
here by id (the first location named, the count of the others).
findings.json, SARIF and the report page still list every finding in full.
"""

from __future__ import annotations

from collections.abc import Sequence

from stagewise.tiers.security.findings import Finding


def grouped_lines(findings: Sequence[Finding]) -> list[str]:
    """``  SCHEMATHESIS-ST103 x21: <first title> at <first location> (+20 more)``, ids in first-seen order."""
    by_id: dict[str, list[Finding]] = {}
    for finding in findings:
        by_id.setdefault(finding.id, []).append(finding)
    lines = []
    for rule, group in by_id.items():
        first = group[0]
        accepted = sum(1 for f in group if f.suppressed_by is not None)
        if len(group) == 1:
            lines.append(f"  {rule} {first.title} at {first.location}{' [accepted]' if accepted else ''}")
            continue
        also = f", {accepted} accepted" if accepted else ""
        lines.append(
            f"  {rule} x{len(group)}{also}: {first.title} at {first.location} "
            f"(+{len(group) - 1} more, all in findings.json)"
        )
    return lines


__all__ = ["grouped_lines"]
