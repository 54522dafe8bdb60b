"""``stagewise check`` as a pipeline of small steps: plan every step, run them in parallel, report.

plan (which command each step runs, or why it cannot) -> refuse when nothing
can run -> run each step in a thread of its own (the external commands, the
unit tier, bandit) -> one run record, summary.json and page, as ``stagewise
test`` writes them. A failing step is a result and never stops the others.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stagewise.check.children import stop_children
from stagewise.check.command import not_run_result, run_command_step
from stagewise.check.detect import StepPlan, lint_step, probe_linters, types_step
from stagewise.check.steps import BANDIT, UNIT, UnitPlan, plan_bandit, plan_unit, run_bandit, run_unit
from stagewise.errors import InterruptedRun, MissingError
from stagewise.pipeline.reporter import Reporter
from stagewise.pipeline.test_run import _prepare_report, _write_report  # the record as a test run's
from stagewise.project.env import resolve_env
from stagewise.project.interpreter import project_python
from stagewise.project.model import Project
from stagewise.project.policy import stage_named
from stagewise.report.run_dir import new_run_id, prepare_run_dir
from stagewise.tiers.base import TierContext, TierPlan
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import RunResult, TierResult

COMMAND = "check"


@dataclass(frozen=True)
class CheckRequest:
    """What the user asked ``stagewise check`` for, parsed."""

    verbose: bool = False
    reports_dir: Path | None = None
    stage: str | None = None  # the unit tier's stage (its env files); default: the project's


@dataclass(frozen=True)
class CheckPlan:
    """Every step in run order, decided before anything runs."""

    steps: tuple[StepPlan, ...]
    unit: UnitPlan | None
    python: str

    def describe(self) -> str:
        """``lint (ruff), types (not run), unit (pytest), bandit``: the header's list."""
        return ", ".join(f"{s.name} ({s.tool if s.runs else 'not run'})" for s in self.steps)


def plan_check(project: Project, request: CheckRequest) -> CheckPlan:
    """Decide each step's command; :class:`MissingError` (exit 4) when no step at all can run."""
    config = project.check
    python = project_python(project)
    found = probe_linters(python) if {"lint", "types"} & set(config.steps) else None
    steps: list[StepPlan] = []
    unit: UnitPlan | None = None
    for name in config.steps:
        if name == "lint" and found is not None:
            steps.append(lint_step(project, python, found, config))
        elif name == "types" and found is not None:
            steps.append(types_step(project, python, found, config))
        elif name == UNIT:
            unit = plan_unit(project, _unit_request(request), config.required(UNIT))
            steps.append(unit.step)
        elif name == BANDIT:
            steps.append(plan_bandit(project, config.required(BANDIT)))
    if not any(s.runs for s in steps):
        reasons = "; ".join(f"{s.name}: {s.not_run}" for s in steps)
        raise MissingError(f"stagewise check has nothing it can run in {project.root}: {reasons}")
    return CheckPlan(tuple(steps), unit, python)


def _unit_request(request: CheckRequest) -> TestRequest:
    return TestRequest(
        tiers=(UNIT,),
        stage=request.stage,
        verbose=request.verbose,
        reports_dir=request.reports_dir,
        relay_output=request.verbose,
    )


def run_check(
    project: Project,
    request: CheckRequest,
    reporter: Reporter,
    process_env: Mapping[str, str] | None = None,
) -> RunResult:
    """Run every step of the quick check in parallel; the run record (already written to disk)."""
    base_env = dict(os.environ if process_env is None else process_env)
    plan = plan_check(project, request)
    stage = stage_named(project, request.stage)
    run_id = new_run_id()
    provided = {"STAGEWISE_STAGE": stage.name, "TEST_ENVIRONMENT": stage.name, "STAGEWISE_RUN_ID": run_id}
    resolved = resolve_env(project, stage, base_env, provided)
    env = resolved.as_child_env(base_env)
    reports_root = request.reports_dir or (project.root / project.reports_dir)
    run_dir = prepare_run_dir(reports_root, run_id)
    env["STAGEWISE_REPORT_DIR"] = str(run_dir)
    result = RunResult(
        run_id=run_id,
        stage=stage.name,
        target="",
        run_dir=str(run_dir),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        command=COMMAND,
    )
    serial = _Serialised(reporter)
    serial.run_started(run_id, stage.name, "", plan.describe().split(", "))
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=len(plan.steps) + 1, thread_name_prefix="check")
    run_info = pool.submit(_prepare_report, project.root, plan.python)
    secrets = tuple(resolved.secret_values())
    try:
        steps = _Steps(project, plan, env, run_dir, run_id, secrets, request, serial)
        runners = {pool.submit(steps.runner(step)): i for i, step in enumerate(plan.steps)}
        result.tiers.extend(_collect(runners, serial))
    except (InterruptedRun, KeyboardInterrupt):
        result.interrupted = True
        stop_children()
        raise
    finally:
        pool.shutdown(wait=not result.interrupted, cancel_futures=True)
        result.duration = time.monotonic() - started
        _write_report(result, reports_root, run_dir, run_info.result(), reporter=serial)
    return result


def _collect(runners: Mapping[Future[TierResult], int], reporter: _Serialised) -> list[TierResult]:
    """The steps' results in plan order, each announced as it finishes."""
    finished: dict[int, TierResult] = {}
    pending = set(runners)
    while pending:
        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        for future in done:
            result = future.result()  # a step raises only InterruptedRun
            finished[runners[future]] = result
            reporter.tier_finished(result)
    return [finished[i] for i in sorted(finished)]


@dataclass(frozen=True)
class _Steps:
    """What every step's worker thread shares: the project, the plan, the env and this run's folder."""

    project: Project
    plan: CheckPlan
    env: dict[str, str]
    run_dir: Path
    run_id: str
    secrets: tuple[str, ...]
    request: CheckRequest
    reporter: _Serialised

    def runner(self, step: StepPlan) -> Callable[[], TierResult]:
        """What one worker thread runs for ``step``."""
        return lambda: self.run(step)

    def run(self, step: StepPlan) -> TierResult:
        if not step.runs:
            return not_run_result(step)
        relay = self._relay(step.name)
        if step.name in (UNIT, BANDIT):
            context = self._context(step.name, relay)
            return run_unit(context) if step.name == UNIT else run_bandit(self.project, context)
        log_path = self.run_dir / f"{step.name}.log"
        return run_command_step(
            step, root=self.project.root, env=self.env, log_path=log_path, secrets=self.secrets, on_line=relay
        )

    def _relay(self, name: str) -> Callable[[str], None]:
        """A step's output reaches the terminal with --verbose only (prefixed: the steps interleave)."""
        if not self.request.verbose:
            return _quiet
        return lambda line: self.reporter.output(name, f"{name}: {line}")

    def _context(self, name: str, log: Callable[[str], None]) -> TierContext:
        unit = self.plan.unit
        tier = (
            unit.run.tiers[0]
            if name == UNIT and unit is not None and unit.run is not None
            else TierPlan(name, (), None, (), needs_target=False, browser=False, coverage=False)
        )
        return TierContext(
            project=self.project,
            plan=tier,
            request=unit.request if unit is not None else _unit_request(self.request),
            root=self.project.root,
            python=self.plan.python,
            env=self.env,
            run_dir=self.run_dir,
            target="",
            run_id=self.run_id,
            secrets=self.secrets,
            verbose=self.request.verbose,
            log=log,
        )


def _quiet(_line: str) -> None:
    return None


class _Serialised:
    """The reporter behind one lock: the steps finish in worker threads, the terminal takes one at a time."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.lock = threading.Lock()

    def run_started(self, run_id: str, stage: str, target: str, tiers: Sequence[str]) -> None:
        with self.lock:
            self.reporter.run_started(run_id, stage, target, tiers)

    def tier_started(self, tier: str, command: Sequence[str]) -> None:
        return None  # the steps start together: one header line says what runs

    def output(self, tier: str, line: str) -> None:
        with self.lock:
            self.reporter.output(tier, line)

    def tier_finished(self, result: TierResult) -> None:
        with self.lock:
            self.reporter.tier_finished(result)

    def note(self, message: str) -> None:
        with self.lock:
            self.reporter.note(message)


__all__ = ["CheckPlan", "CheckRequest", "plan_check", "run_check"]
