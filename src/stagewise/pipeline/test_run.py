"""``stagewise test`` as a pipeline of small steps.

resolve stage -> plan tiers -> resolve env -> preflight tools -> run each
tier -> apply gates -> write the report. Each step raises a typed error or
returns data; a failing tier is a result and never stops the tiers after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from stagewise.errors import InterruptedRun, MissingError, UsageError
from stagewise.pipeline.changed_plan import changed_plan, tier_filter
from stagewise.pipeline.durations import update_durations
from stagewise.pipeline.impact import record_tier, snapshot
from stagewise.pipeline.plan import RunPlan, holds_tests, plan_run, preflight, tier_named, will_run
from stagewise.pipeline.provision import provisioned
from stagewise.pipeline.reporter import Reporter
from stagewise.pipeline.shards import refused_shard, shard_env
from stagewise.project.env import resolve_env
from stagewise.project.model import Project
from stagewise.report.run_dir import new_run_id, prepare_run_dir
from stagewise.tiers.base import TierContext, TierPlan
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import RunResult, TierResult, TierStatus

if TYPE_CHECKING:
    from stagewise.tiers.browser import BrowserRun

# Imported where they are used, not here: a run needs the budget, coverage gate, browser and
# reachability modules only when it has a profile, coverage, a browser tier or a target, and
# the time to import them would be added to every run's start-up (issue 20).


def run_tests(
    project: Project,
    request: TestRequest,
    reporter: Reporter,
    process_env: Mapping[str, str] | None = None,
) -> RunResult:
    """Run the requested tiers and return the run record (already written to disk)."""
    base_env = dict(os.environ if process_env is None else process_env)
    plan, changed = changed_plan(project, plan_run(project, request), request)
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
    preflight(project, plan, request, reporter.note)
    browser = _browser(project, plan, request, child_env)
    run_dir = prepare_run_dir(reports_root, run_id)
    child_env["STAGEWISE_REPORT_DIR"] = str(run_dir)
    if request.shard is not None:
        child_env.update(shard_env(project.root, request.shard))
    result = RunResult(
        run_id=run_id,
        stage=plan.stage.name,
        target=plan.target,
        run_dir=str(run_dir),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        profile=request.profile.name if request.profile is not None else None,
        changed=changed,
    )
    header_target = plan.target if any(t.needs_target for t in plan.tiers) else ""  # "": none needs one
    reporter.run_started(run_id, plan.stage.name, header_target, [t.name for t in plan.tiers])
    for note in plan.notes:
        reporter.note(note)
    started = time.monotonic()
    # The report's provenance (git, tool versions) and page renderer are made ready
    # while the tiers run, not after: they would otherwise add to every run's time.
    run_info = _Beside(_prepare_report, project.root, plan.python)
    try:
        secrets = tuple(resolved.secret_values())
        with provisioned(project, plan, request, child_env, reporter):
            _TierLoop(project, plan, request, reporter, child_env, browser, run_dir, secrets, result).run()
    except (InterruptedRun, KeyboardInterrupt):  # a tier's own or a bare one: the record says so
        result.interrupted = True
        raise
    finally:
        result.duration = time.monotonic() - started
        if request.profile is not None:
            from stagewise.pipeline.budget import apply_budget

            apply_budget(result, request.profile)
        _write_report(result, reports_root, run_dir, run_info.result(), reporter=reporter)
        _keep_durations(project.root, run_dir, reporter, sharded=request.shard is not None)
    refused = refused_shard(run_dir) if request.shard is not None else None
    if refused is not None:
        raise UsageError(refused)
    return result


def _keep_durations(root: Path, run_dir: Path, reporter: Reporter, *, sharded: bool) -> None:
    """Every run's test times go into .stagewise/durations.json (for --shard); a failure is a note.

    A shard's times go into its own run folder instead: every shard of a commit
    must split by the same file, and `stagewise report merge` folds them in.
    """
    try:
        update_durations(run_dir if sharded else root, run_dir)
    except OSError as exc:
        reporter.note(f"could not update {root / '.stagewise' / 'durations.json'}: {exc}")


class _Beside(threading.Thread):
    """One call run in a thread beside the tiers; ``result()`` waits for it and re-raises its error.

    A plain thread, not ``concurrent.futures``: that package imports ``logging`` and
    ``queue``, a cost added to every run's start-up for one background call.
    """

    def __init__(self, call: Callable[[Path, str], dict[str, object]], root: Path, python: str) -> None:
        super().__init__(name="report-prep", daemon=True)
        self._call, self._args = call, (root, python)
        self._value: dict[str, object] = {}
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._call(*self._args)
        except BaseException as exc:
            self._error = exc

    def result(self) -> dict[str, object]:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def _prepare_report(root: Path, python: str) -> dict[str, object]:
    """Runs in a thread beside the tiers: provenance, and the modules the report needs imported."""
    import stagewise.report.history
    import stagewise.report.html
    import stagewise.report.summary
    import stagewise.tiers.junit  # noqa: F401 - imported now, used when the tier ends
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
    from stagewise.report.history import read_history
    from stagewise.report.html import write_page
    from stagewise.report.summary import write_run_record

    summary = write_run_record(result, reports_root, run_dir, run_info)
    try:
        record = json.loads(summary.read_text(encoding="utf-8"))
        write_page(run_dir, record, read_history(reports_root))  # the page picks the comparable runs
    except (OSError, ValueError) as exc:
        reporter.note(f"could not write the report page: {exc}")


def _browser(
    project: Project, plan: RunPlan, request: TestRequest, env: Mapping[str, str]
) -> BrowserRun | None:
    if not any(
        t.browser and not t.skipped_by_change and holds_tests(project.root, t.paths) for t in plan.tiers
    ):
        return None  # no browser tier will run tests: no browser (or display) is needed
    from stagewise.tiers.browser import BrowserRun, find_browser, require_display

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
            finished = self._absent_under_all(tier, self._run_one(tier))
            self.result.tiers.append(finished)
            self.reporter.tier_finished(finished)
            if coverage_tiers and tier.name == coverage_tiers[-1]:
                from stagewise.pipeline.coverage_gate import CoverageGates

                gates = CoverageGates(
                    self.project,
                    self.plan.python,
                    self.env,
                    self.run_dir,
                    self.reporter,
                    coverage_tiers,
                    partial=_partial_run(self.request),
                )
                gates.apply(self.result)

    def _absent_under_all(self, tier: TierPlan, finished: TierResult) -> TierResult:
        """``--all`` runs the tiers the project has: a tier without its folder is shown, not counted.

        A tier asked for by name (``--e2e``) or by the stage's own list keeps
        "no tests" as its verdict (exit 5): tests were expected there.
        """
        if (
            not (self.request.run_all and not self.request.tiers)
            or finished.status is not TierStatus.NO_TESTS
        ):
            return finished
        if holds_tests(self.project.root, tier.paths):
            return finished  # the folder exists and holds no test: that still counts
        return replace(finished, counted=False, message=f"{finished.message} (not counted: --all)")

    def _run_one(self, tier: TierPlan) -> TierResult:
        if tier.skipped_by_change:
            return TierResult(tier.name, TierStatus.SKIPPED_BY_CHANGE, message=tier.skipped_by_change)
        if not tier.record_impact:
            return self._run_tier(tier)
        before = snapshot(self.project.root, (self.project.reports_dir, str(self.run_dir)))
        finished = self._run_tier(tier)
        if finished.status in (TierStatus.PASSED, TierStatus.FAILED):
            self._record_impact(tier, before)
        return finished

    def _record_impact(self, tier: TierPlan, before: dict[str, str]) -> None:
        """Which test touched which file, for a later ``--changed``; a failure to record is a note."""
        from stagewise.tiers.coverage import tier_data_file

        try:
            record_tier(
                self.project.root,
                self.plan.python,
                tier.name,
                tier_data_file(self.run_dir, tier.name),
                self.run_dir / f"junit-{tier.name}.attempts.jsonl",
                before,
                (*self.project.coverage.source, *tier.impact_sources),
                self.env,
                tier_filter(self.project, tier),
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            self.reporter.note(f"could not record the {tier.name} tier's impact data (for --changed): {exc}")

    def _run_tier(self, tier: TierPlan) -> TierResult:
        # A tier that will be "no tests" is that, not "unreachable".
        if tier.needs_target and will_run(self.project, tier, self.request):
            unreachable = _unreachable(self.project, self.plan.target)
            if unreachable is not None:
                return TierResult(tier.name, TierStatus.MISSING, message=unreachable)
        context = TierContext(
            project=self.project,
            plan=tier,
            request=self.request,
            root=self.project.root,
            python=self.plan.python,
            env=self.env,
            run_dir=self.run_dir,
            target=self.plan.target,
            run_id=self.result.run_id,
            secrets=self.secrets,
            verbose=self.request.verbose,
            log=lambda line: self.reporter.output(tier.name, line),
            color=self.request.color,
            browser=self.browser,
        )
        return tier_named(tier.name).run(context)


def _partial_run(request: TestRequest) -> str:
    """Why the run measured only part of its tiers' tests, or "" when it ran them whole."""
    picked: list[str] = []
    if request.changed:
        picked.append("--changed ran the affected tests")
    if request.selection:
        picked.append(f"it picked {' '.join(request.selection)}")
    if request.keyword:
        picked.append(f"-k {request.keyword!r}")
    if request.pytest_args:
        picked.append(f"pytest args {' '.join(request.pytest_args)!r}")
    return f"this run ran part of the tests ({'; '.join(picked)})" if picked else ""


def _unreachable(project: Project, target: str) -> str | None:
    from stagewise.tiers.target import check_reachable

    try:
        check_reachable(target, project.health_path, project.start_hint)
    except MissingError as exc:
        return exc.message
    return None


__all__ = ["RunPlan", "TestRequest", "TierPlan", "plan_run", "preflight", "run_tests"]
