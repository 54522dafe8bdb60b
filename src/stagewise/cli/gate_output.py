"""How ``deploy ENV gate`` shows the migration gate's report."""

from __future__ import annotations

from stagewise.operations.migration_gate import GateReport


def print_gate(report: GateReport) -> None:
    """One verdict line, then the rehearsal's figures and each step's time."""
    if not report.applies:
        print(f"migration gate: not applicable: {report.reason}")
        return
    before, after = report.revision_before or "base", report.revision_after or "base"
    print(f"migration gate passed: {before} -> {after}")
    print(
        f"  rehearsal      {report.rehearsal_s or 0:.2f} s; locks: {', '.join(report.locks) or 'none seen'}"
    )
    print(
        f"  downgrade      {'proven' if report.downgrade_proven else 'not proven (rollback restores the backup)'}"
    )
    print(f"  lint warnings  {len(report.lint_warnings)}; accepted: {len(report.accepted)}")
    for name, seconds in report.steps:
        print(f"  {name:<28}{seconds:>8.2f} s")
