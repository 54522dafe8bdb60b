"""Run the security tier: every configured check, the project's own security tests, then the gate.

Order: bandit and the dependency audit (they need only the source), then
the checks against the target (fuzz, passive, ZAP), then the project's own
``tests/security`` under pytest. A check that breaks or cannot run never
stops the others; the verdict:

- a check broke (``error``) -> ``ERROR`` (exit 1): nothing can be said about it
- an active finding at or above ``security.fail_on`` (default high) -> ``FAILED`` (exit 1)
- a configured service missing (the ZAP daemon) -> ``MISSING`` (exit 4)
- otherwise ``PASSED``; checks that could not run are named in the message
  ("dependencies: not run (no vulnerability data reachable: ...)")

Evidence in the tier folder (``security/``): ``findings.json``,
``findings.sarif``, each tool's raw report, and ``junit-security.xml``
beside the other tiers' JUnit files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from stagewise import __version__
from stagewise.plugins.security_checks import check_spec
from stagewise.project.env import mask_text
from stagewise.project.security import SecurityConfig
from stagewise.tiers.pytest_tier import PytestRun, run_pytest_tier
from stagewise.tiers.result import FailedTest, RecordEvidence, TestCounts, TierResult, TierStatus
from stagewise.tiers.security.allowlist import AllowList, apply_allowlist
from stagewise.tiers.security.checks import CheckContext, load_check
from stagewise.tiers.security.discovery import Discovered, discover_openapi
from stagewise.tiers.security.findings import CheckOutcome, CheckStatus, Finding, at_or_above
from stagewise.tiers.security.sarif import project_sarif
from stagewise.tiers.security.writers import (
    active,
    counts,
    findings_document,
    summary_lines,
    write_json,
    write_junit,
)

PROJECT_TESTS = "tests"


@dataclass(frozen=True)
class SecurityRun:
    """Everything one security tier needs, fully resolved by the pipeline."""

    root: Path
    target: str
    config: SecurityConfig
    allowlist: AllowList
    tool_python: str
    project_python: str
    source_paths: tuple[str, ...]
    env: Mapping[str, str]
    out_dir: Path
    log_path: Path
    junit_path: Path
    tests: PytestRun | None = None
    active: bool = False
    verbose: bool = False
    secrets: tuple[str, ...] = ()
    today: date = field(default_factory=date.today)
    import_app: bool = True  # findings.sarif may import the app to find route handlers


class _Log:
    """The tier's log file; tool output reaches the terminal only with --verbose."""

    def __init__(self, run: SecurityRun, on_line: Callable[[str], None]) -> None:
        self.run = run
        self.on_line = on_line
        run.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.file = run.log_path.open("w", encoding="utf-8")

    def tool(self, line: str) -> None:
        line = mask_text(line, self.run.secrets)
        self.file.write(line + "\n")
        if self.run.verbose:
            self.on_line(line)

    def show(self, line: str) -> None:
        line = mask_text(line, self.run.secrets)
        self.file.write(line + "\n")
        self.on_line(line)

    def close(self) -> None:
        self.file.close()


def run_security_tier(run: SecurityRun, on_line: Callable[[str], None]) -> TierResult:
    """Run the checks and judge them; failures come back as a result, never an error.

    Raises only :class:`~stagewise.errors.InterruptedRun` (Ctrl+C: the
    running tool's process group is stopped first).
    """
    run.out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log = _Log(run, on_line)
    try:
        outcomes = _run_checks(run, log)
        findings, notes = apply_allowlist(_dedupe(outcomes), run.allowlist, run.today)
        marked = {(f.id, f.location): f for f in findings}
        for outcome in outcomes:
            outcome.findings = [marked.get((f.id, f.location), f) for f in outcome.findings]
        gating = [f for f in active(findings) if at_or_above(f.severity, run.config.fail_on)]
        status, message = _verdict(run, outcomes, findings, gating)
        for line in summary_lines(outcomes, findings, run.config.fail_on, notes):
            log.show(line)
        log.show(message)
    finally:
        log.close()
    duration = time.monotonic() - started
    document = findings_document(
        target=run.target,
        fail_on=run.config.fail_on,
        passed=status is TierStatus.PASSED,
        allowlist=str(run.allowlist.path) if run.allowlist.path else None,
        outcomes=outcomes,
        findings=findings,
        notes=notes,
    )
    findings_path = run.out_dir / "findings.json"
    write_json(findings_path, document)
    sarif = project_sarif(
        findings,
        root=run.root,
        python=run.project_python,
        env=run.env,
        tool_version=__version__,
        import_app=run.import_app,
    )
    write_json(run.out_dir / "findings.sarif", sarif)
    write_junit(run.junit_path, outcomes, run.config.fail_on, duration)
    return TierResult(
        name="security",
        status=status,
        counts=_counts(outcomes, run.config.fail_on),
        duration=duration,
        message=message,
        junit_path=str(run.junit_path),
        log_path=str(run.log_path),
        failed_tests=tuple(
            FailedTest(f"{f.id} {f.location}", "finding", f"{f.severity}: {f.title}") for f in gating
        ),
        evidence=(
            RecordEvidence("findings", document["findings"]),
            RecordEvidence(
                "security",
                {
                    "findings_json": str(findings_path),
                    "sarif": str(run.out_dir / "findings.sarif"),
                    "counts": document["counts"],
                    "fail_on": run.config.fail_on,
                    "checks": document["checks"],
                },
            ),
        ),
    )


def _run_checks(run: SecurityRun, log: _Log) -> list[CheckOutcome]:
    found = Discovered(None)
    if any(check_spec(name).needs_openapi for name in run.config.checks):
        found = discover_openapi(
            run.target,
            run.config.fuzz,
            run.root,
            run.project_python,
            run.env,
            log.tool,
            import_app=run.import_app,
        )
    context = CheckContext(
        root=run.root,
        target=run.target,
        config=run.config,
        tool_python=run.tool_python,
        project_python=run.project_python,
        source_paths=run.source_paths,
        env=run.env,
        out_dir=run.out_dir,
        log=log.tool,
        active=run.active,
        openapi=found.document,
        openapi_problem=found.problem,
        openapi_url=found.url,
        openapi_source=found.how,
        secrets=run.secrets,
    )
    outcomes = []
    for name in run.config.checks:
        log.show(f"{name}: running")
        started = time.monotonic()
        outcome = load_check(name).run(context)
        outcome.duration = time.monotonic() - started  # timed here, once for every check
        log.show(f"  {outcome.describe()}")
        outcomes.append(outcome)
    if run.tests is not None:
        outcomes.append(_project_tests(run.tests, log))
    return outcomes


def _project_tests(tests: PytestRun, log: _Log) -> CheckOutcome:
    """The project's own security tests as a check: each failing test is a high finding."""
    log.show(f"{PROJECT_TESTS}: running the project's security tests ({', '.join(tests.paths)})")
    result = run_pytest_tier(tests, log.tool)
    outcome = CheckOutcome(
        PROJECT_TESTS, CheckStatus.PASSED, duration=result.duration, command=result.command
    )
    if result.status is TierStatus.NO_TESTS:
        outcome.status, outcome.reason = CheckStatus.NOT_RUN, result.message
    elif result.status is TierStatus.ERROR or (
        result.status is TierStatus.FAILED and not result.failed_tests
    ):
        outcome.status, outcome.reason = CheckStatus.ERROR, result.message or "pytest could not run the tests"
    elif result.failed_tests:
        outcome.status = CheckStatus.FINDINGS
        outcome.findings = [
            Finding(
                id="SW-PROJECT-TEST",
                title=f"project security test failed: {failed.name}",
                severity="high",
                check=PROJECT_TESTS,
                tool="pytest",
                location=failed.name,
                evidence=failed.message[:300],
                fix="make the test pass (it states the project's own security requirement)",
            )
            for failed in result.failed_tests
        ]
    log.show(f"  {outcome.describe()}")
    return outcome


def _dedupe(outcomes: list[CheckOutcome]) -> list[Finding]:
    """One finding per (id, location): two checks seeing the same leak report it once."""
    seen: dict[tuple[str, str], Finding] = {}
    for outcome in outcomes:
        for finding in outcome.findings:
            seen.setdefault((finding.id, finding.location), finding)
    return list(seen.values())


def _verdict(
    run: SecurityRun, outcomes: list[CheckOutcome], findings: list[Finding], gating: list[Finding]
) -> tuple[TierStatus, str]:
    tally = counts(findings)
    shown = ", ".join(f"{n} {s}" for s, n in tally.items() if n) or "no findings"
    accepted = len(findings) - len(active(findings))
    text = f"{shown}{f', {accepted} accepted' if accepted else ''}"
    fail_on = run.config.fail_on
    not_run = [o.name for o in outcomes if o.status is CheckStatus.NOT_RUN]
    partial = [o.name for o in outcomes if o.status is CheckStatus.PARTIAL]
    tail = f"; not run: {', '.join(not_run)}" if not_run else ""
    tail += f"; partial: {', '.join(partial)}" if partial else ""
    errors = [o for o in outcomes if o.status is CheckStatus.ERROR]
    if errors:
        return TierStatus.ERROR, f"{'; '.join(o.describe() for o in errors)}; {text}{tail}"
    if gating:
        first = ", ".join(f"{f.id} at {f.location}" for f in gating[:3])
        more = f" (+{len(gating) - 3} more)" if len(gating) > 3 else ""
        return (
            TierStatus.FAILED,
            f"gate failed: {len(gating)} at or above {fail_on} ({text}): {first}{more}{tail}",
        )
    missing = [o for o in outcomes if o.status is CheckStatus.MISSING]
    if missing:
        return TierStatus.MISSING, f"{'; '.join(o.describe() for o in missing)}; {text}{tail}"
    return TierStatus.PASSED, f"gate passed: nothing at or above {fail_on} ({text}){tail}"


def _counts(outcomes: list[CheckOutcome], fail_on: str) -> TestCounts:
    """One test per check, as in junit-security.xml."""
    failed = sum(
        1
        for o in outcomes
        if o.status not in (CheckStatus.ERROR, CheckStatus.NOT_RUN, CheckStatus.MISSING)
        and any(at_or_above(f.severity, fail_on) for f in active(o.findings))
    )
    return TestCounts(
        tests=len(outcomes),
        failures=failed,
        errors=sum(1 for o in outcomes if o.status is CheckStatus.ERROR),
        skipped=sum(1 for o in outcomes if o.status in (CheckStatus.NOT_RUN, CheckStatus.MISSING)),
    )


__all__ = ["SecurityRun", "run_security_tier"]
