"""``stagewise test`` as a pipeline of small steps.

resolve stage -> plan tiers -> resolve env -> preflight tools -> run each
tier -> apply gates -> write the report. Each step raises a typed error or
returns data; a failing tier is a result and never stops the tiers after it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from stagewise.errors import InterruptedRun, MissingError, UsageError
from stagewise.pipeline.provision import provisioned
from stagewise.pipeline.reporter import Reporter
from stagewise.pipeline.results import GateResult, RunResult
from stagewise.project.env import resolve_env
from stagewise.project.model import DEFAULT_BASE_URL, Project, StageConfig
from stagewise.project.policy import combine_markers, select_tiers, stage_named
from stagewise.report.history import read_history
from stagewise.report.run_dir import new_run_id, prepare_run_dir
from stagewise.report.summary import write_run_record
from stagewise.tiers import tools
from stagewise.tiers.browser import find_browser, require_display
from stagewise.tiers.pytest_tier import BrowserRun, CoverageRun, PytestRun, run_pytest_tier
from stagewise.tiers.result import TierResult, TierStatus
from stagewise.tiers.target import check_reachable, validate_url

if TYPE_CHECKING:  # the heavier tiers are imported only when a run uses them (startup time)
    from stagewise.tiers.performance import LoadRequest
    from stagewise.tiers.security.allowlist import AllowList


@dataclass(frozen=True)
class TestRequest:
    """What the user asked ``stagewise test`` for, already parsed."""

    __test__ = False  # not a pytest test class, despite the name

    tiers: tuple[str, ...] = ()
    run_all: bool = False
    stage: str | None = None
    coverage: bool = False
    verbose: bool = False
    host: str | None = None
    headless: bool = True
    install_missing: bool = False
    reruns: int = 0
    reports_dir: Path | None = None
    color: bool = False
    extra_markers: str | None = None
    auto_start: bool = True
    load: LoadRequest | None = None  # --performance's flags (scenario, users, baselines, ...)
    resilience_scenario: str | None = None  # --resilience --scenario NAME
    active: bool = False  # --security: also run ZAP's active scan
    yes: bool = False  # confirms a security scan on a protected stage


@dataclass(frozen=True)
class TierPlan:
    """One tier as it will run: its paths, marker filter and coverage choice."""

    name: str
    paths: tuple[str, ...]
    markers: str | None
    args: tuple[str, ...]
    needs_target: bool
    browser: bool
    coverage: bool


@dataclass(frozen=True)
class RunPlan:
    """The whole run, decided before anything starts."""

    stage: StageConfig
    target: str
    python: str
    tiers: tuple[TierPlan, ...]
    security_checks: tuple[str, ...] = ()  # the security checks that need their tool installed


def plan_run(project: Project, request: TestRequest) -> RunPlan:
    """Decide stage, target, interpreter and tiers; usage errors surface here."""
    stage = stage_named(project, request.stage)
    _guard_security(stage, request, request.tiers)
    chosen = select_tiers(project, stage, request.tiers, request.run_all, request.stage is not None)
    _guard_security(stage, request, chosen)
    if request.host is not None:
        target = validate_url(request.host)
    else:
        target = validate_url(stage.base_url or DEFAULT_BASE_URL, f"stages.{stage.name}.base_url")
    if "security" in chosen:
        security_allowlist(project)  # a bad allow-list is exit 3 before anything runs
    if "resilience" in chosen:
        from stagewise.tiers.resilience.runner import resolve_scenario as resilience_scenario

        resilience_scenario(project.resilience, request.resilience_scenario)  # usage errors first
    if "performance" in chosen:
        from stagewise.tiers.performance import LoadRequest, resolve_scenario

        resolve_scenario(
            project.performance, request.load or LoadRequest()
        )  # usage errors before anything runs
    plans = []
    for name in chosen:
        tier = project.tiers[name]
        plans.append(
            TierPlan(
                name=name,
                paths=tier.paths,
                markers=combine_markers(tier.markers, stage.markers, request.extra_markers),
                args=tier.args,
                needs_target=tier.needs_target,
                browser=tier.browser,
                coverage=request.coverage and tier.coverage,
            )
        )
    security = project.security
    checks = tuple(c for c in security.checks if c != "zap" or security.zap.url is not None)
    return RunPlan(
        stage, target, _python(project), tuple(plans), security_checks=checks if "security" in chosen else ()
    )


def _python(project: Project) -> str:
    if not project.python:
        return sys.executable
    candidate = Path(project.python)
    if not candidate.is_absolute() and os.sep in project.python:
        candidate = project.root / candidate
    return str(candidate) if os.sep in project.python else project.python


def preflight(plan: RunPlan, request: TestRequest) -> None:
    """Check every tool the plan needs before any tier runs (fail fast, exit 4)."""
    needed = [tools.PYTEST] if any(t.name not in ("performance", "resilience") for t in plan.tiers) else []
    if any(t.name == "performance" for t in plan.tiers):
        from stagewise.tiers.performance import LOCUST

        needed.append(LOCUST)
    if any(t.coverage for t in plan.tiers):
        needed.append(tools.PYTEST_COV)
    wants_browser = any(t.browser for t in plan.tiers)
    if wants_browser:
        needed.append(tools.PLAYWRIGHT)
    if request.reruns > 0:
        needed.append(tools.RERUNFAILURES)
    tools.require_tools(plan.python, needed, request.install_missing)
    if any(t.name == "security" for t in plan.tiers):
        # The scanners are stagewise's own `security` extra: they run in stagewise's interpreter.
        from stagewise.tiers.security import CHECK_TOOLS

        scanners = [CHECK_TOOLS[c] for c in plan.security_checks if c in CHECK_TOOLS]
        tools.require_tools(sys.executable, scanners, request.install_missing)


def run_tests(
    project: Project,
    request: TestRequest,
    reporter: Reporter,
    process_env: Mapping[str, str] | None = None,
) -> RunResult:
    """Run the requested tiers and return the run record (already written to disk)."""
    base_env = dict(os.environ if process_env is None else process_env)
    plan = plan_run(project, request)
    run_id = new_run_id()
    reports_root = request.reports_dir or (project.root / project.reports_dir)
    provided = {
        "STAGEWISE_STAGE": plan.stage.name,
        "TEST_ENVIRONMENT": plan.stage.name,
        "STAGEWISE_BASE_URL": plan.target,
        "TARGET_HOST": plan.target,
        "STAGEWISE_RUN_ID": run_id,
    }
    resolved = resolve_env(project, plan.stage, base_env, provided)
    child_env = resolved.as_child_env(base_env)
    preflight(plan, request)
    browser = _browser(project, plan, request, child_env)
    run_dir = prepare_run_dir(reports_root, run_id)
    child_env["STAGEWISE_REPORT_DIR"] = str(run_dir)
    result = RunResult(
        run_id=run_id,
        stage=plan.stage.name,
        target=plan.target,
        run_dir=str(run_dir),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    reporter.run_started(run_id, plan.stage.name, plan.target, [t.name for t in plan.tiers])
    started = time.monotonic()
    # The report's provenance (git, tool versions) and page renderer are made ready
    # while the tiers run, not after: they would otherwise add to every run's time.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-prep")
    run_info = pool.submit(_prepare_report, project.root, plan.python)
    pool.shutdown(wait=False)
    try:
        secrets = tuple(resolved.secret_values())
        with provisioned(project, plan, request, child_env, reporter):
            _TierLoop(project, plan, request, reporter, child_env, browser, run_dir, secrets, result).run()
    except (InterruptedRun, KeyboardInterrupt):  # a tier's own or a bare one: the record says so
        result.interrupted = True
        raise
    finally:
        result.duration = time.monotonic() - started
        _write_report(result, reports_root, run_dir, run_info.result(), reporter=reporter)
    return result


def _prepare_report(root: Path, python: str) -> dict[str, object]:
    """Runs in a thread beside the tiers: provenance, and the page module imported."""
    import stagewise.report.html  # noqa: F401 - imported now, used by _write_report
    from stagewise.report.run_info import collect_run_info

    return collect_run_info(root, python)


def _write_report(
    result: RunResult,
    reports_root: Path,
    run_dir: Path,
    run_info: dict[str, object],
    *,
    reporter: Reporter,
) -> None:
    """summary.json and history first (the record of truth), then the page; also after Ctrl+C.

    A page that cannot be rendered is noted, never allowed to replace the
    run's verdict with a crash.
    """
    from stagewise.report.html import TREND_RUNS, write_page

    summary = write_run_record(result, reports_root, run_dir, run_info)
    try:
        record = json.loads(summary.read_text(encoding="utf-8"))
        write_page(run_dir, record, read_history(reports_root, last=TREND_RUNS))
    except (OSError, ValueError) as exc:
        reporter.note(f"could not write the report page: {exc}")


def _browser(
    project: Project, plan: RunPlan, request: TestRequest, env: Mapping[str, str]
) -> BrowserRun | None:
    if not any(t.browser for t in plan.tiers):
        return None
    executable = find_browser(project.browser.executable)
    if not request.headless:
        require_display(env)
    return BrowserRun(executable, project.browser.args, request.headless)


@dataclass
class _TierLoop:
    """Runs the planned tiers one after another into ``result``."""

    project: Project
    plan: RunPlan
    request: TestRequest
    reporter: Reporter
    env: dict[str, str]
    browser: BrowserRun | None
    run_dir: Path
    secrets: tuple[str, ...]
    result: RunResult

    def run(self) -> None:
        coverage_tiers = [t.name for t in self.plan.tiers if t.coverage]
        for tier in self.plan.tiers:
            self.reporter.tier_started(tier.name, ())
            finished = self._run_one(tier, coverage_tiers)
            self.result.tiers.append(finished)
            self.reporter.tier_finished(finished)
            if coverage_tiers and tier.name == coverage_tiers[-1]:
                _coverage_gate(self.project, self.run_dir / "coverage.json", self.result, coverage_tiers)

    def _run_one(self, tier: TierPlan, coverage_tiers: list[str]) -> TierResult:
        if tier.needs_target:
            unreachable = _unreachable(self.project, self.plan.target)
            if unreachable is not None:
                return TierResult(tier.name, TierStatus.MISSING, message=unreachable)
        if tier.name == "performance":
            return self._run_performance(tier)
        if tier.name == "resilience":
            return self._run_resilience(tier)
        if tier.name == "security":
            return self._run_security(tier)
        coverage = None
        if tier.coverage:
            coverage = CoverageRun(
                source=self.project.coverage.source,
                data_file=self.run_dir / ".coverage",
                html_dir=self.run_dir / "coverage-html",
                json_file=self.run_dir / "coverage.json",
                append=tier.name != coverage_tiers[0],
            )
        run = PytestRun(
            tier=tier.name,
            python=self.plan.python,
            cwd=self.project.root,
            paths=tier.paths,
            env=self.env,
            junit_path=self.run_dir / f"junit-{tier.name}.xml",
            log_path=self.run_dir / f"{tier.name}.log",
            markers=tier.markers,
            args=tier.args,
            verbose=self.request.verbose,
            color=self.request.color,
            coverage=coverage,
            browser=self.browser if tier.browser else None,
            secrets=self.secrets,
            reruns=self.request.reruns,
        )
        return run_pytest_tier(run, lambda line: self.reporter.output(tier.name, line))

    def _run_performance(self, tier: TierPlan) -> TierResult:
        """Locust instead of pytest: the tier's paths are its locustfile(s)."""
        from stagewise.tiers.performance import LoadRequest, PerformanceRun, run_performance_tier

        run = PerformanceRun(
            python=self.plan.python,
            cwd=self.project.root,
            locustfiles=tier.paths,
            target=self.plan.target,
            env=self.env,
            out_dir=self.run_dir / "performance",
            log_path=self.run_dir / "performance.log",
            junit_path=self.run_dir / "junit-performance.xml",
            config=self.project.performance,
            request=self.request.load or LoadRequest(),
            verbose=self.request.verbose,
            run_id=self.result.run_id,
            secrets=self.secrets,
        )
        return run_performance_tier(run, lambda line: self.reporter.output(tier.name, line))

    def _run_resilience(self, tier: TierPlan) -> TierResult:
        """Regions, faults and probes instead of pytest: see ``[resilience]`` in the project file."""
        from stagewise.tiers.resilience.runner import ResilienceRun, run_resilience_tier

        run = ResilienceRun(
            project_root=self.project.root,
            config=self.project.resilience,
            out_dir=self.run_dir / "resilience",
            junit_path=self.run_dir / "resilience" / "junit-resilience.xml",
            log_path=self.run_dir / "resilience.log",
            scenario=self.request.resilience_scenario,
        )
        return run_resilience_tier(run, lambda line: self.reporter.output(tier.name, line))

    def _run_security(self, tier: TierPlan) -> TierResult:
        """The security checks; the tier's paths are the project's own security tests (pytest)."""
        from stagewise.tiers.security import SecurityRun, run_security_tier

        out_dir = self.run_dir / "security"
        tests = PytestRun(
            tier="security",
            python=self.plan.python,
            cwd=self.project.root,
            paths=tier.paths,
            env=self.env,
            junit_path=out_dir / "junit-project-tests.xml",
            log_path=out_dir / "project-tests.log",
            markers=tier.markers,
            args=tier.args,
            verbose=self.request.verbose,
            secrets=self.secrets,
        )
        run = SecurityRun(
            root=self.project.root,
            target=self.plan.target,
            config=self.project.security,
            allowlist=security_allowlist(self.project),
            tool_python=sys.executable,
            project_python=self.plan.python,
            source_paths=self.project.coverage.source,
            env=self.env,
            out_dir=out_dir,
            log_path=self.run_dir / "security.log",
            junit_path=self.run_dir / "junit-security.xml",
            tests=tests,
            active=self.request.active,
            verbose=self.request.verbose,
            secrets=self.secrets,
        )
        return run_security_tier(run, lambda line: self.reporter.output(tier.name, line))


def _guard_security(stage: StageConfig, request: TestRequest, tiers: tuple[str, ...]) -> None:
    """A security scan on a protected stage needs --yes; --active needs the security tier.

    Checked before anything runs (exit 2): a scan sends fuzzed writes, and
    ``--active`` sends attack payloads, to whatever the stage points at.
    """
    if request.active and "security" not in tiers and not request.run_all and request.stage is None:
        raise UsageError("--active applies to the security tier: add --security")
    if "security" not in tiers or not stage.protected or request.yes:
        return
    what = "an active security scan (--active)" if request.active else "a security scan"
    raise UsageError(f"{stage.name} is protected: refusing to run {what} against it without --yes")


def security_allowlist(project: Project) -> AllowList:
    """The project's security allow-list, validated (ConfigError, exit 3, on a bad entry)."""
    from stagewise.project.security import DEFAULT_ALLOWLIST
    from stagewise.tiers.security.allowlist import load_allowlist

    configured = project.security.allowlist
    return load_allowlist(project.root / configured, required=configured != DEFAULT_ALLOWLIST)


def _unreachable(project: Project, target: str) -> str | None:
    try:
        check_reachable(target, project.health_path, project.start_hint)
    except MissingError as exc:
        return exc.message
    return None


def _coverage_gate(project: Project, json_file: Path, result: RunResult, coverage_tiers: list[str]) -> None:
    limit = project.coverage.fail_under
    try:
        totals = json.loads(json_file.read_text(encoding="utf-8"))["totals"]
        percent = float(totals["percent_covered"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        ran = any(t.name in coverage_tiers and t.status in _TESTS_RAN for t in result.tiers)
        if limit is not None and ran:
            # A gate that cannot measure fails: never a silent pass when fail_under is set.
            result.gates.append(
                GateResult("coverage", 0.0, limit, False, _no_coverage(project, json_file, exc))
            )
        return
    result.coverage_percent = percent
    if limit is None:
        return
    passed = percent >= limit
    message = f"coverage {percent:.1f}% {'meets' if passed else 'is below'} fail_under {limit:g}%"
    result.gates.append(GateResult("coverage", percent, limit, passed, message))


#: Tier outcomes in which pytest ran tests, so coverage data should exist.
_TESTS_RAN = (TierStatus.PASSED, TierStatus.FAILED)


def _no_coverage(project: Project, json_file: Path, exc: Exception) -> str:
    source = ", ".join(project.coverage.source) or "(all code)"
    if isinstance(exc, FileNotFoundError):
        why = (
            f"{json_file} does not exist; does coverage.source ({source}) name code the tests import? "
            "See the tier's log for coverage's warning"
        )
    else:
        why = f"{json_file} cannot be read: {exc}"
    return f"coverage was requested but no coverage data was written: {why}"


__all__ = ["RunPlan", "TestRequest", "TierPlan", "plan_run", "run_tests"]
