"""What a security check reports: findings, and the check's own outcome.

A :class:`Finding` is one problem with the evidence a person needs to act on
it (what was seen, where, and how to fix it). A :class:`CheckOutcome` says
whether the check ran at all: a check that could not run (no vulnerability
data, no ZAP daemon) is ``not-run`` with the reason, never ``passed`` — an
audit that audited nothing must not read as a clean bill of health.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from stagewise.project.security import SEVERITIES


def severity_rank(severity: str) -> int:
    """0 for critical up to 4 for info; unknown severities rank as info."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1


def at_or_above(severity: str, threshold: str) -> bool:
    """Whether ``severity`` is as severe as ``threshold`` or more."""
    return severity_rank(severity) <= severity_rank(threshold)


@dataclass(frozen=True)
class Finding:
    """One problem a check found.

    ``id`` is stable across runs for the same kind of problem (``B602``,
    ``SW-CORS-CREDENTIALS``, ``PYSEC-2018-28``); ``location`` is a
    ``path:line`` for source, ``METHOD URL`` for HTTP and ``package==version``
    for dependencies. Together they are what an allow-list entry matches.
    ``help_uri`` is the scanner's page about the rule, when it names one
    (bandit's ``more_info``); findings.sarif links it.
    """

    id: str
    title: str
    severity: str
    check: str
    location: str
    evidence: str
    fix: str
    tool: str = ""
    suppressed_by: str | None = None
    help_uri: str = ""

    def as_dict(self) -> dict[str, object]:
        """The finding as findings.json and summary.json hold it (``detail`` is what the page shows)."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "check": self.check,
            "tool": self.tool or self.check,
            "location": self.location,
            "evidence": self.evidence,
            "fix": self.fix,
            "detail": f"{self.evidence} | fix: {self.fix}" if self.fix else self.evidence,
            "suppressed_by": self.suppressed_by,
        }


class CheckStatus(StrEnum):
    """Whether a check ran, and how it ended."""

    PASSED = "passed"  # ran over everything it was meant to and found nothing
    FINDINGS = "findings"  # ran and found something (the gate decides whether that fails)
    PARTIAL = "partial"  # ran, but some of its subject could not be examined (reason says what)
    NOT_RUN = "not-run"  # could not run at all (reason says why); never counts as passed
    MISSING = "missing"  # a configured service (the ZAP daemon) does not answer: exit 4
    ERROR = "error"  # the tool broke; the tier fails, since nothing can be said


@dataclass
class CheckOutcome:
    """One check's result: its status, its findings, why it did not run fully, how long it took."""

    name: str
    status: CheckStatus
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""
    duration: float = 0.0
    command: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "findings": len(self.findings),
            "duration_s": round(self.duration, 3),
            "command": list(self.command),
            "notes": self.notes,
        }

    def describe(self) -> str:
        """One line: ``pip-audit: not run (no vulnerability data reachable: ...)``."""
        if self.status in (CheckStatus.NOT_RUN, CheckStatus.MISSING):
            return f"{self.name}: not run ({self.reason})"
        if self.status is CheckStatus.ERROR:
            return f"{self.name}: error ({self.reason})"
        count = len(self.findings)
        text = f"{self.name}: {count} finding{'s' if count != 1 else ''}" if count else f"{self.name}: passed"
        if self.status is CheckStatus.PARTIAL:
            text += f" (partial: {self.reason})"
        return f"{text} in {self.duration:.1f}s"


def outcome_from(name: str, findings: list[Finding], reason: str = "", partial: bool = False) -> CheckOutcome:
    """The outcome of a check that ran: findings, partial, or passed."""
    status = CheckStatus.FINDINGS if findings else CheckStatus.PASSED
    if partial:
        status = CheckStatus.PARTIAL
    return CheckOutcome(name, status, findings, reason)


__all__ = ["CheckOutcome", "CheckStatus", "Finding", "at_or_above", "outcome_from", "severity_rank"]
