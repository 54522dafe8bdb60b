"""findings.sarif: SARIF 2.1.0 that code scanning (GitHub's, and other SARIF viewers) loads.

What code scanning asks of a result, and how stagewise meets it:

- a repository-relative ``physicalLocation.artifactLocation.uri`` with
  ``uriBaseId: "%SRCROOT%"`` (the run's ``originalUriBaseIds`` names that
  root): :class:`~stagewise.tiers.security.locations.Locator` maps every
  finding, HTTP ones to their route's handler or to the project file;
- ``partialFingerprints`` that stay the same from run to run for the same
  problem, so an alert is tracked rather than opened anew: a hash of the rule
  id and the location's stable key (never the port, the evidence or a line
  number that moved), with an occurrence count for repeats;
- rules with a short and full description, help text and a help link, and
  ``security-severity`` (GitHub's critical/high/medium/low ranking);
- levels from severities: critical/high ``error``, medium ``warning``, below ``note``.

Suppressed findings stay in the log with their allow-list justification.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stagewise.tiers.security.findings import Finding, severity_rank
from stagewise.tiers.security.locations import Located, Locator
from stagewise.tiers.security.routes import discover_routes, source_routes
from stagewise.tiers.security.sarif_rules import rule_text

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT = "stagewise/v1"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: GitHub ranks by this: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "info": "0.0"}


def _fingerprint(rule: str, located: Located) -> str:
    return hashlib.sha256(f"{rule}\0{located.key}".encode()).hexdigest()


def _location(located: Located) -> dict[str, Any]:
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": located.uri, "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": located.line},
    }
    location: dict[str, Any] = {"physicalLocation": physical}
    if located.logical:
        location["logicalLocations"] = [{"fullyQualifiedName": located.logical}]
    return location


def _rule(finding: Finding, severity: str) -> dict[str, Any]:
    text = rule_text(finding)
    rule: dict[str, Any] = {
        "id": finding.id,
        "name": finding.id,
        "shortDescription": {"text": text.short},
        "fullDescription": {"text": text.full},
        "help": {"text": f"{text.full}\n\nFix: {finding.fix}" if finding.fix else text.full},
        "defaultConfiguration": {"level": LEVELS.get(severity, "note")},
        "properties": {
            "tags": ["security", finding.check],
            "security-severity": SECURITY_SEVERITY.get(severity, "0.0"),
            "tool": finding.tool or finding.check,
        },
    }
    if text.help_uri:
        rule["helpUri"] = text.help_uri
    return rule


def sarif_document(findings: Sequence[Finding], tool_version: str, locator: Locator) -> dict[str, Any]:
    """SARIF 2.1.0 with one run for stagewise's security tier; every result located in the repository."""
    ordered = sorted(findings, key=lambda f: (severity_rank(f.severity), f.check, f.id, f.location))
    worst: dict[str, str] = {}
    for finding in ordered:  # most severe first: a rule's severity is its worst result's
        worst.setdefault(finding.id, finding.severity)
    rules: dict[str, dict[str, Any]] = {}
    index: dict[str, int] = {}
    seen: dict[str, int] = {}
    results = []
    for finding in ordered:
        if finding.id not in rules:
            index[finding.id] = len(rules)
            rules[finding.id] = _rule(finding, worst[finding.id])
        located = locator.locate(finding)
        fingerprint = _fingerprint(finding.id, located)
        seen[fingerprint] = seen.get(fingerprint, 0) + 1
        result: dict[str, Any] = {
            "ruleId": finding.id,
            "ruleIndex": index[finding.id],
            "level": LEVELS.get(finding.severity, "note"),
            "message": {"text": f"{finding.title}. Evidence: {finding.evidence}. Fix: {finding.fix}"},
            "locations": [_location(located)],
            "partialFingerprints": {FINGERPRINT: f"{fingerprint}:{seen[fingerprint]}"},
            "properties": {
                "severity": finding.severity,
                "check": finding.check,
                "location": finding.location,
                **located.properties,
            },
        }
        if finding.suppressed_by is not None:
            result["suppressions"] = [{"kind": "external", "justification": finding.suppressed_by}]
        results.append(result)
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if locator.notes:
        invocation["toolExecutionNotifications"] = [
            {"level": "note", "message": {"text": note}} for note in locator.notes
        ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "stagewise-security",
                        "version": tool_version,
                        "rules": list(rules.values()),
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": locator.srcroot.as_uri() + "/"}},
                "invocations": [invocation],
                "results": results,
            }
        ],
    }


def project_sarif(
    findings: Sequence[Finding],
    *,
    root: Path,
    python: str,
    env: Mapping[str, str],
    tool_version: str,
    import_app: bool = True,
) -> dict[str, Any]:
    """findings.sarif for a project: the app's routes are read (in ``python``) only if an HTTP finding asks.

    ``import_app=False`` (a protected stage) reads the route decorators in the
    source instead of importing the app with that stage's environment.
    """
    locator = Locator(root, lambda: discover_routes(root, python, env) if import_app else source_routes(root))
    return sarif_document(findings, tool_version, locator)


__all__ = ["FINGERPRINT", "LEVELS", "SARIF_SCHEMA", "project_sarif", "sarif_document"]
