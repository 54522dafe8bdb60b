"""Run one pytest tier: real pytest in a subprocess, judged by its own evidence.

The verdict comes from pytest's exit code and its JUnit XML together, so a
tier can never pass with failures in it, nor with collection errors.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stagewise.project.env import mask_text
from stagewise.project.model import Project, StageConfig
from stagewise.tiers.base import TierContext, TierPlan, ToolNeed
from stagewise.tiers.browser import BrowserRun
from stagewise.tiers.coverage import CoverageRun, coverage_args, coverage_env, coverage_run
from stagewise.tiers.junit import read_cases, read_junit
from stagewise.tiers.process import run_streaming
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import FlakyTest, TestCounts, TierResult, TierStatus
from stagewise.tiers.tools import PYTEST

PLUGIN_DIR = Path(__file__).parent / "pytest_plugins"

#: pytest's own exit codes (``pytest.ExitCode``), named here to avoid importing pytest.
PYTEST_OK, PYTEST_FAILED, PYTEST_INTERRUPTED, PYTEST_INTERNAL, PYTEST_USAGE, PYTEST_NO_TESTS = range(6)


@dataclass(frozen=True)
class PytestRun:
    """Everything needed to run one pytest tier, fully resolved."""

    tier: str
    python: str
    cwd: Path
    paths: tuple[str, ...]
    env: Mapping[str, str]
    junit_path: Path
    log_path: Path
    markers: str | None = None
    args: tuple[str, ...] = ()
    verbose: bool = False
    color: bool = False
    coverage: CoverageRun | None = None
    browser: BrowserRun | None = None
    secrets: tuple[str, ...] = ()
    reruns: int = 0
    missing_hint: str = ""  # where to set the paths, added when none of them exists


def build_command(run: PytestRun) -> list[str]:
    """The pytest argument list for a run; never a shell string."""
    command = [run.python, "-m", "pytest", *run.paths]
    command += ["--junitxml", str(run.junit_path)]
    command += ["-v"] if run.verbose else []
    command += ["--color=yes"] if run.color else ["--color=no"]
    if run.markers:
        command += ["-m", run.markers]
    if run.coverage is not None:
        command += coverage_args(run.coverage)
    if run.reruns > 0:
        command += ["--reruns", str(run.reruns)]  # the plugin loads through its entry point
    if run.browser is not None:
        command += ["-p", "stagewise_browser", "--browser", "chromium"]
        if not run.browser.headless:
            command.append("--headed")
    command += list(run.args)
    return command


def child_env(run: PytestRun) -> dict[str, str]:
    """The test process environment: the resolved stage env plus runner settings."""
    env = dict(run.env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    if run.coverage is not None:
        env.update(coverage_env(run.coverage))
    if run.browser is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_DIR), env.get("PYTHONPATH", "")) if p)
        env["STAGEWISE_BROWSER_EXECUTABLE"] = run.browser.executable
        env["STAGEWISE_BROWSER_ARGS"] = json.dumps(list(run.browser.args))
        env["STAGEWISE_HEADLESS"] = "1" if run.browser.headless else "0"
    return env


def run_pytest_tier(run: PytestRun, on_line: Callable[[str], None]) -> TierResult:
    """Run the tier and judge it; failures come back as a result, not an error."""
    existing = tuple(p for p in run.paths if (run.cwd / p.split("::", 1)[0]).exists())  # node ids too
    if run.paths and not existing:  # no paths at all: pytest's own collection
        return TierResult(
            run.tier,
            TierStatus.NO_TESTS,
            message=f"no {run.tier} tests: {', '.join(run.paths)} does not exist in {run.cwd}{run.missing_hint}",
        )
    run = PytestRun(**{**run.__dict__, "paths": existing})
    command = build_command(run)
    run.junit_path.parent.mkdir(parents=True, exist_ok=True)
    run.junit_path.unlink(missing_ok=True)
    tail: list[str] = []

    def relay(line: str) -> None:
        line = mask_text(line, run.secrets)
        tail.append(line)
        del tail[:-40]
        log.write(line + "\n")
        on_line(line)

    started = time.monotonic()
    with run.log_path.open("w", encoding="utf-8") as log:
        code = run_streaming(command, run.cwd, child_env(run), relay, what=f"pytest ({run.tier} tier)")
    duration = time.monotonic() - started
    _mask_file(run.junit_path, run.secrets)
    parsed = read_junit(run.junit_path)
    counts, failed = parsed if parsed is not None else (TestCounts(), ())
    status, message = _judge(run, code, counts, tail)
    return TierResult(
        name=run.tier,
        status=status,
        counts=counts,
        duration=duration,
        message=message,
        junit_path=str(run.junit_path) if parsed is not None else None,
        log_path=str(run.log_path),
        command=tuple(command),
        failed_tests=failed,
        pytest_exit_code=code,
        reruns=max(run.reruns, 0),
        flaky_tests=_flaky(run),
    )


def _flaky(run: PytestRun) -> tuple[FlakyTest, ...]:
    """The tests that passed only on a rerun (none without ``--reruns``)."""
    if run.reruns <= 0:
        return ()
    return tuple(FlakyTest(case.name, case.attempts - 1) for case in read_cases(run.junit_path) if case.flaky)


def _mask_file(path: Path, secrets: tuple[str, ...]) -> None:
    """Secrets that tests printed must not survive in the JUnit evidence either."""
    if not secrets or not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    masked = mask_text(text, secrets)
    if masked != text:
        path.write_text(masked, encoding="utf-8")


def _judge(  # noqa: PLR0911 - one return per pytest exit code reads best
    run: PytestRun, code: int, counts: TestCounts, tail: list[str]
) -> tuple[TierStatus, str]:
    if code == PYTEST_NO_TESTS or (code == PYTEST_OK and counts.tests == 0):
        where = ", ".join(run.paths) or "pytest's own collection"
        selected = f" matching -m {run.markers!r}" if run.markers else ""
        return TierStatus.NO_TESTS, f"no {run.tier} tests collected{selected} in {where}"
    if code == PYTEST_OK:
        if counts.failures or counts.errors:
            return TierStatus.FAILED, "pytest exited 0 but its report lists failures"
        return TierStatus.PASSED, ""
    if code == PYTEST_FAILED and counts.tests == 0:
        return TierStatus.ERROR, f"pytest failed before running any test: {_interesting_line(tail)}"
    if code == PYTEST_FAILED:
        if counts.errors and not counts.failures:
            return TierStatus.ERROR, f"{counts.errors} test(s) errored"
        return TierStatus.FAILED, f"{counts.failures} failed, {counts.errors} errors"
    detail = _interesting_line(tail)
    if code == PYTEST_INTERRUPTED:
        return TierStatus.ERROR, f"pytest stopped early: {detail}"
    if code == PYTEST_USAGE:
        return TierStatus.ERROR, f"pytest rejected its arguments: {detail}"
    return TierStatus.ERROR, f"pytest exited {code}: {detail}"


def _interesting_line(tail: list[str]) -> str:
    """The line of pytest's output that best says what went wrong."""
    markers = ("ERROR collecting", "SyntaxError", "Error:", "error:", "ERROR", "Interrupted")
    for marker in markers:
        for line in tail:
            if marker in line:
                return line.strip(" =")[:300]
    return tail[-1].strip(" =")[:300] if tail else "(no output)"


@dataclass(frozen=True)
class PytestTier:
    """A tier that is a folder of pytest tests (unit, integration, api, e2e)."""

    name: str
    on_request: bool = False

    def tools(self, project: Project, plan: TierPlan, request: TestRequest) -> Sequence[ToolNeed]:
        return (ToolNeed(PYTEST),)

    def check_request(self, stage: StageConfig, request: TestRequest, tiers: Sequence[str]) -> None:
        return None

    def validate(self, project: Project, request: TestRequest) -> None:
        return None

    def run(self, context: TierContext) -> TierResult:
        relay = context.request.relay_output or context.verbose  # else pytest's lines go to the log only
        return run_pytest_tier(pytest_run(context), context.log if relay else _log_only)


def _log_only(line: str) -> None:
    """``--no-progress`` without ``-v``: pytest's line is in the tier log; the terminal skips it."""


def pytest_run(context: TierContext) -> PytestRun:
    """The pytest run of a planned tier; its JUnit XML and log go in the run's folder."""
    plan = context.plan
    coverage = (
        coverage_run(context.project.coverage.source, context.run_dir, plan.name) if plan.coverage else None
    )
    return PytestRun(
        tier=plan.name,
        python=context.python,
        cwd=context.root,
        paths=plan.paths,
        env=context.env,
        junit_path=context.run_dir / f"junit-{plan.name}.xml",
        log_path=context.run_dir / f"{plan.name}.log",
        markers=plan.markers,
        args=plan.args,
        verbose=context.verbose,
        color=context.color,
        coverage=coverage,
        browser=context.browser if plan.browser else None,
        secrets=context.secrets,
        reruns=context.request.reruns,
        missing_hint=plan.missing_hint,
    )


UNIT = PytestTier("unit")
INTEGRATION = PytestTier("integration")
API = PytestTier("api")
E2E = PytestTier("e2e")
