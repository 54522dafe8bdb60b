"""Run one pytest tier: real pytest in a subprocess, judged by its own evidence.

The verdict comes from pytest's exit code and the attempt record together, so
a tier can never pass with failures in it, nor with collection errors. The
record is written by stagewise's own pytest plugin (``-p stagewise_record``,
see ``pytest_plugins/stagewise_record.py``), which means the same on pytest 7,
8 and 9 with or without xdist and rerunfailures; stagewise writes the tier's
JUnit file from it. pytest's ``--junitxml`` is left to the project: passing
ours would silently replace one the project sets in ``addopts``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stagewise.cause import cause_line
from stagewise.project.env import mask_text
from stagewise.project.model import Project, StageConfig
from stagewise.tiers.attempts import Attempts, read_attempts
from stagewise.tiers.base import TierContext, TierPlan, ToolNeed
from stagewise.tiers.browser import BrowserRun
from stagewise.tiers.coverage import CoverageRun, coverage_args, coverage_env, coverage_run
from stagewise.tiers.junit import write_pytest_junit
from stagewise.tiers.process import run_streaming
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import TestCounts, TierResult, TierStatus
from stagewise.tiers.tools import PYTEST

PLUGIN_DIR = Path(__file__).parent / "pytest_plugins"
RECORD_PLUGIN = "stagewise_record"

#: Lines in which pytest or a plugin says why a run failed with no failing test
#: (pytest-cov's fail-under first: it names the required and the measured figure).
_NO_FAILURE_REASONS = (
    re.compile(r"FAIL Required test coverage.*"),
    re.compile(r"Coverage failure:.*"),
)
#: Words of a ``-m`` expression that are not marker names.
_MARKER_KEYWORDS = frozenset({"and", "or", "not", "True", "False", "None"})

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
    base_url: str | None = None  # pytest-base-url's --base-url for browser runs: page.goto("/") is the target
    secrets: tuple[str, ...] = ()
    reruns: int = 0
    missing_hint: str = ""  # where to set the paths, added when none of them exists
    changed_file: Path | None = None  # --changed: the plugin's keep list (stagewise_changed)
    record_impact: bool = False  # note which tests start processes (for the impact data)


def build_command(run: PytestRun) -> list[str]:
    """The pytest argument list for a run; never a shell string."""
    command = [run.python, "-m", "pytest", *run.paths]
    command += ["-p", RECORD_PLUGIN]  # no --junitxml: stagewise writes its own from the record
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
        # The target asked for (--host, the stage's base_url): on the command line it beats a base_url in
        # pytest.ini or addopts; a --base-url in the tier's own args or after `--` comes later and wins.
        command += ["--base-url", run.base_url] if run.base_url else []
        if not run.browser.headless:
            command.append("--headed")
    command += list(run.args)
    return command


def child_env(run: PytestRun) -> dict[str, str]:
    """The test process environment: the resolved stage env plus runner settings."""
    env = dict(run.env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_DIR), env.get("PYTHONPATH", "")) if p)
    env["STAGEWISE_RECORD_FILE"] = str(record_path(run))
    env["STAGEWISE_MARKERS"] = json.dumps(marker_names(run.markers))
    if run.coverage is not None:
        env.update(coverage_env(run.coverage))
    if run.changed_file is not None:
        env["STAGEWISE_CHANGED"] = str(run.changed_file)
    if run.record_impact:
        env["STAGEWISE_IMPACT"] = "1"
    if run.browser is not None:
        env["STAGEWISE_BROWSER_EXECUTABLE"] = run.browser.executable
        env["STAGEWISE_BROWSER_ARGS"] = json.dumps(list(run.browser.args))
        env["STAGEWISE_HEADLESS"] = "1" if run.browser.headless else "0"
    return env


def record_path(run: PytestRun) -> Path:
    """Where the record plugin writes the run's attempts: beside the tier's JUnit file."""
    return run.junit_path.with_name(f"{run.junit_path.stem}.attempts.jsonl")


def marker_names(expression: str | None) -> list[str]:
    """The marker names in a ``-m`` expression, to register for ``--strict-markers`` projects.

    ``smoke and not (slow or db)`` -> ``["smoke", "slow", "db"]``; keyword
    arguments of pytest 8's ``mark(key=value)`` matching are not names.
    """
    if not expression:
        return []
    text = re.sub(r"\"[^\"]*\"|'[^']*'", " ", expression)
    names: list[str] = []
    for match in re.finditer(r"[A-Za-z_]\w*(\s*=)?", text):
        name = match.group(0)
        if match.group(1) is None and name not in _MARKER_KEYWORDS and name not in names:
            names.append(name)
    return names


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
    record_path(run).unlink(missing_ok=True)
    tail: list[str] = []
    reasons: list[str] = []

    def relay(line: str) -> None:
        line = mask_text(line, run.secrets)
        tail.append(line)
        del tail[:-40]
        if any(pattern.search(line) for pattern in _NO_FAILURE_REASONS):
            reasons.append(line)
        log.write(line + "\n")
        on_line(line)

    started = time.monotonic()
    with run.log_path.open("w", encoding="utf-8") as log:
        code = run_streaming(command, run.cwd, child_env(run), relay, what=f"pytest ({run.tier} tier)")
    duration = time.monotonic() - started
    _mask_file(record_path(run), run.secrets)  # tests' output is in it; the JUnit file is written from it
    attempts = read_attempts(record_path(run))
    if attempts is not None:
        write_pytest_junit(run.junit_path, run.tier, attempts, duration)
    recorded = attempts or Attempts()
    counts = recorded.counts
    status, message = _judge(
        run,
        code,
        counts,
        tail,
        recorded=attempts is not None,
        reasons=reasons,
        collection_errors=[f"{e.nodeid}: {e.message}" for e in recorded.collect_errors],
    )
    return TierResult(
        name=run.tier,
        status=status,
        counts=counts,
        duration=duration,
        message=message,
        junit_path=str(run.junit_path) if attempts is not None else None,
        log_path=str(run.log_path),
        command=tuple(command),
        failed_tests=recorded.failed,
        pytest_exit_code=code,
        reruns=max(run.reruns, 0),
        flaky_tests=recorded.flaky,  # also from a --reruns in the project's own addopts
    )


def _mask_file(path: Path, secrets: tuple[str, ...]) -> None:
    """Secrets that tests printed must not survive in the JUnit evidence either."""
    if not secrets or not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    masked = mask_text(text, secrets)
    if masked != text:
        path.write_text(masked, encoding="utf-8")


def _judge(  # noqa: PLR0911 - one return per pytest exit code reads best
    run: PytestRun,
    code: int,
    counts: TestCounts,
    tail: list[str],
    *,
    recorded: bool = True,
    reasons: Sequence[str] = (),
    collection_errors: Sequence[str] = (),
) -> tuple[TierStatus, str]:
    """The tier's status and its one-line message from pytest's exit code and the record.

    ``recorded`` is false when the record plugin wrote nothing: then no count
    can be trusted and the message is pytest's own last word.
    """
    if not recorded and code != PYTEST_INTERRUPTED:
        detail = _interesting_line(tail)
        if code == PYTEST_USAGE and any(
            "usage:" in line or "unrecognized arguments" in line for line in tail
        ):
            return TierStatus.ERROR, f"pytest rejected its arguments: {detail}"
        return TierStatus.ERROR, f"pytest could not start (it left no test record): {detail}"
    if code == PYTEST_NO_TESTS or (code == PYTEST_OK and counts.tests == 0):
        where = ", ".join(run.paths) or "pytest's own collection"
        selected = f" matching -m {run.markers!r}" if run.markers else ""
        deselected = f" ({counts.deselected} deselected)" if counts.deselected else ""
        return TierStatus.NO_TESTS, f"no {run.tier} tests collected{selected} in {where}{deselected}"
    if collection_errors and code in (PYTEST_FAILED, PYTEST_INTERRUPTED):
        more = f" (and {len(collection_errors) - 1} more)" if len(collection_errors) > 1 else ""
        failed = f"; {counts.failures} failed" if counts.failures else ""
        return TierStatus.ERROR, f"pytest could not collect {collection_errors[0]}{more}{failed}"
    if code == PYTEST_OK:
        if counts.failures or counts.errors:
            return TierStatus.FAILED, "pytest exited 0 but its report lists failures"
        return TierStatus.PASSED, ""
    if code == PYTEST_FAILED and counts.tests == 0:
        return TierStatus.ERROR, f"pytest failed before running any test: {_interesting_line(tail)}"
    if code == PYTEST_FAILED:
        if not counts.errors and not counts.failures:
            return (
                TierStatus.FAILED,
                f"pytest failed with no failing test: {_no_failure_reason(tail, reasons)}",
            )
        if counts.errors and not counts.failures:
            return TierStatus.ERROR, f"{counts.errors} test(s) errored"
        return TierStatus.FAILED, f"{counts.failures} failed, {counts.errors} errors"
    detail = _interesting_line(tail)
    if code == PYTEST_INTERRUPTED:
        return TierStatus.ERROR, f"pytest stopped early: {detail}"
    if code == PYTEST_USAGE:
        return TierStatus.ERROR, f"pytest rejected its arguments: {detail}"
    return TierStatus.ERROR, f"pytest exited {code}: {detail}"


def _no_failure_reason(tail: Sequence[str], reasons: Sequence[str]) -> str:
    """Why pytest exited 1 with every test passing: a plugin's gate (pytest-cov's fail-under) or its last word."""
    for pattern in _NO_FAILURE_REASONS:
        for line in reversed(reasons):
            match = pattern.search(line)
            if match:
                return match.group(0).strip()[:300]
    ignored = re.compile(r"^=+ .* in [\d.]+s.* =+$|^=+ short test summary info =+$")
    return cause_line("\n".join(line for line in tail if not ignored.match(line.strip())))


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
    impact = plan.impact_sources if plan.record_impact else None
    coverage = (
        coverage_run(context.project.coverage.source, context.run_dir, plan.name, impact)
        if plan.coverage
        else None
    )
    changed_file = None
    if plan.changed_keep:
        changed_file = context.run_dir / f"changed-{plan.name}.json"
        changed_file.parent.mkdir(parents=True, exist_ok=True)
        changed_file.write_text(plan.changed_keep, encoding="utf-8")
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
        base_url=context.target if plan.browser else None,
        secrets=context.secrets,
        reruns=context.request.reruns,
        missing_hint=plan.missing_hint,
        changed_file=changed_file,
        record_impact=plan.record_impact and coverage is not None,
    )


UNIT = PytestTier("unit")
INTEGRATION = PytestTier("integration")
API = PytestTier("api")
E2E = PytestTier("e2e")
