"""Run the performance tier: real Locust, headless, in a subprocess, judged by gates.

One Locust run per scenario (one per step for ``stress``), each leaving
Locust's CSV, HTML and JSON in the tier folder, then one ``summary.json``
that the run report reads. The verdict:

- Locust could not run (bad locustfile, crash) -> ``ERROR`` (exit 1)
- no request was made -> ``NO_TESTS`` (exit 5)
- a gate, a regression, or an exception in the locustfile -> ``FAILED`` (exit 1)
- ``--baseline`` with no saved baseline -> ``MISSING`` (exit 4)
- otherwise ``PASSED``

Locust exits with :data:`LOCUST_REPORTED_ERRORS` when it saw failures, so
"it ran but requests failed" is never mistaken for "it could not run".
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stagewise.project.env import mask_text
from stagewise.project.performance import Scenario
from stagewise.tiers.performance import baseline as baselines
from stagewise.tiers.performance.drift import (
    MemoryReader,
    MemorySampler,
    drift_check,
    metrics_memory_reader,
    pid_memory_reader,
)
from stagewise.tiers.performance.gates import GateCheck, check_gates
from stagewise.tiers.performance.junit import write_junit
from stagewise.tiers.performance.record import (
    Attempt,
    Outcome,
    PerformanceRun,
    evidence_of,
    interesting_line,
    render_outcome,
    write_summary,
)
from stagewise.tiers.performance.scenarios import (
    describe,
    resolve_scenario,
    run_time,
    stress_steps,
)
from stagewise.tiers.performance.stats import ALL_REQUESTS, LoadStats, StatsUnreadable, read_stats
from stagewise.tiers.process import run_streaming
from stagewise.tiers.result import FailedTest, TestCounts, TierResult, TierStatus

PLUGINS = Path(__file__).parent / "locust_plugins"
PROBE = PLUGINS / "stagewise_probe.py"
CPU = PLUGINS / "stagewise_cpu.py"
SHAPE = PLUGINS / "stagewise_shape.py"
#: Passed as ``--exit-code-on-error``: distinct from 1 (Locust's own start-up errors).
LOCUST_REPORTED_ERRORS = 7
WORKERS_WAIT_S = 30


class _Log:
    """The tier's log file plus the relay to the terminal (only with --verbose)."""

    def __init__(self, run: PerformanceRun, on_line: Callable[[str], None]) -> None:
        self.run = run
        self.on_line = on_line
        self.tail: list[str] = []
        run.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.file = run.log_path.open("w", encoding="utf-8")

    def locust(self, line: str) -> None:
        line = mask_text(line, self.run.secrets)
        self.tail.append(line)
        del self.tail[:-40]
        self.file.write(line + "\n")
        if self.run.verbose:
            self.on_line(line)

    def show(self, line: str) -> None:
        self.file.write(line + "\n")
        self.on_line(line)

    def close(self) -> None:
        self.file.close()


def run_performance_tier(run: PerformanceRun, on_line: Callable[[str], None]) -> TierResult:
    """Run the scenario and judge it; failures come back as a result, never an error.

    Raises only :class:`~stagewise.errors.UsageError` (an unknown scenario or
    an override that does not apply) and
    :class:`~stagewise.errors.InterruptedRun` (Ctrl+C, Locust stopped).
    """
    scenario = resolve_scenario(run.config, run.request)
    missing = [p for p in run.locustfiles if not (run.cwd / p).exists()]  # a file or a directory of them
    if missing:
        return TierResult(
            "performance",
            TierStatus.NO_TESTS,
            message=f"no performance tests: {', '.join(missing)} does not exist in {run.cwd}",
        )
    run.out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log = _Log(run, on_line)
    try:
        log.show(f"{describe(scenario)} against {run.target}")
        if scenario.kind == "stress":
            attempts = _stress(run, scenario, log)
        else:
            attempts = [_one(run, scenario, log, run.out_dir, scenario.users)]
        outcome = _judge(run, scenario, attempts)
        for line in render_outcome(outcome, attempts):
            log.show(line)
    finally:
        log.close()
    duration = time.monotonic() - started
    write_junit(run.junit_path, scenario.name, outcome.checks, duration)
    summary_path = run.out_dir / "summary.json"
    write_summary(
        summary_path, run=run, scenario=scenario, attempts=attempts, outcome=outcome, duration=duration
    )
    last = attempts[-1]
    return TierResult(
        name="performance",
        status=outcome.status,
        counts=_counts(outcome),
        duration=duration,
        message=outcome.message,
        junit_path=str(run.junit_path),
        log_path=str(run.log_path),
        command=tuple(last.command),
        failed_tests=tuple(
            FailedTest(f"{c.gate} {c.endpoint}", "gate", c.message) for c in outcome.checks if not c.passed
        ),
        evidence=(evidence_of(summary_path, scenario, last, outcome),),
    )


def _counts(outcome: Outcome) -> TestCounts:
    """One test per gate check; a run Locust could not finish counts as one error."""
    failed = len([c for c in outcome.checks if not c.passed])
    if outcome.status is TierStatus.ERROR:
        return TestCounts(tests=len(outcome.checks) + 1, failures=failed, errors=1)
    return TestCounts(tests=len(outcome.checks), failures=failed)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def build_command(
    run: PerformanceRun, scenario: Scenario, out: Path, users: int, duration: float
) -> list[str]:
    """The Locust argument list for one run (never a shell string)."""
    files = [*run.locustfiles, str(PROBE), str(CPU)]
    if scenario.kind == "shape":
        files.append(str(SHAPE))
    command = [run.python, "-m", "locust", "-f", ",".join(files), "--headless", "--host", run.target]
    if scenario.kind != "shape":
        spawn = scenario.effective_spawn_rate if scenario.kind != "stress" else float(max(users, 1))
        command += ["--users", str(users), "--spawn-rate", f"{spawn:g}", "--run-time", run_time(duration)]
    command += ["--csv", str(out / "locust"), "--html", str(out / "locust.html")]
    command += ["--json-file", str(out / "locust"), "--exit-code-on-error", str(LOCUST_REPORTED_ERRORS)]
    command += ["--stop-timeout", "2"]
    if not run.verbose:
        command.append("--only-summary")
    workers = _workers(run)
    if workers:
        # One master and N forked workers; the master listens on loopback only, on a free port.
        # The forked workers dial --master-port, so both ports must be set; a worker that
        # never connects ends the run after WORKERS_WAIT_S instead of waiting forever.
        port = str(_free_port())
        command += ["--processes", str(workers), "--master-bind-host", "127.0.0.1"]
        command += ["--master-bind-port", port, "--master-port", port, "--expect-workers", str(workers)]
        command += ["--expect-workers-max-wait", str(WORKERS_WAIT_S)]
    return command


def _workers(run: PerformanceRun) -> int:
    """Locust worker processes for this run: ``--workers``, else ``performance.workers``, else 0."""
    return run.request.workers if run.request.workers is not None else run.config.workers


def _one(run: PerformanceRun, scenario: Scenario, log: _Log, out: Path, users: int) -> Attempt:
    out.mkdir(parents=True, exist_ok=True)
    duration = scenario.step_duration if scenario.kind == "stress" else scenario.duration
    command = build_command(run, scenario, out, users, duration)
    attempt = Attempt(out.name, users, command)
    env = dict(run.env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["STAGEWISE_LOCUST_PROBE"] = str(out / "stagewise-probe.json")
    env["STAGEWISE_LOCUST_PROBE_INTERVAL"] = "1"
    env["STAGEWISE_LOAD_SHAPE"] = json.dumps([asdict(s) for s in scenario.stages])
    generator_dir = out / "generator"
    env["STAGEWISE_LOCUST_GENERATOR_DIR"] = str(generator_dir)
    (out / "locust.json").unlink(missing_ok=True)
    for stale in generator_dir.glob("*.json"):
        stale.unlink()
    sampler = _memory_sampler(run, scenario)
    if sampler is not None:
        with sampler:
            attempt.code = run_streaming(command, run.cwd, env, log.locust, what="locust (performance tier)")
        attempt.checks += _drift_checks(scenario, sampler, None)
        if len(sampler.samples) < 4:
            where = scenario.pid_file or f"{run.target}{scenario.metrics_path} ({scenario.memory_metric})"
            attempt.notes.append(f"memory not judged: {len(sampler.samples)} sample(s) from {where}")
        (out / "memory.json").write_text(json.dumps(sampler.samples), encoding="utf-8")
    else:
        attempt.code = run_streaming(command, run.cwd, env, log.locust, what="locust (performance tier)")
    if attempt.code not in (0, LOCUST_REPORTED_ERRORS):
        attempt.problem = f"locust exited {attempt.code}: {interesting_line(log.tail)}"
        return attempt
    try:
        attempt.stats = read_stats(out / "locust.json", out / "stagewise-probe.json", generator_dir)
    except StatsUnreadable as exc:
        attempt.problem = f"{exc}: {interesting_line(log.tail)}"
        return attempt
    generator = attempt.stats.generator
    warning = generator.warning(_workers(run)) if generator is not None else None
    if warning:
        attempt.notes.append(warning)
    gates = check_gates(attempt.stats, run.config.gates_for(scenario))
    drift = _drift_checks(scenario, None, attempt.stats)
    exceptions = _exception_checks(attempt.stats)
    attempt.checks = sorted([*attempt.checks, *gates, *drift, *exceptions], key=lambda c: c.passed)
    return attempt


def _memory_sampler(run: PerformanceRun, scenario: Scenario) -> MemorySampler | None:
    if scenario.kind != "endurance" or scenario.max_memory_growth is None:
        return None
    reader: MemoryReader
    if scenario.pid_file:
        reader = pid_memory_reader(run.cwd / scenario.pid_file)
    else:
        reader = metrics_memory_reader(run.target + scenario.metrics_path, scenario.memory_metric)
    return MemorySampler(reader, scenario.sample_interval)


def _drift_checks(
    scenario: Scenario, sampler: MemorySampler | None, stats: LoadStats | None
) -> list[GateCheck]:
    if scenario.kind != "endurance":
        return []
    checks: list[GateCheck | None] = []
    if sampler is not None:
        checks.append(
            drift_check(
                "memory_growth", "target", [v for _, v in sampler.samples], scenario.max_memory_growth
            )
        )
    if stats is not None:
        p95s = [float(s["p95_ms"]) for s in stats.samples if s.get("p95_ms") and s.get("users")]
        checks.append(drift_check("latency_drift", f"{ALL_REQUESTS} p95", p95s, scenario.max_latency_drift))
    return [c for c in checks if c is not None]


def _exception_checks(stats: LoadStats) -> list[GateCheck]:
    if not stats.exceptions:
        return []
    count = sum(c for c, _ in stats.exceptions)
    first = stats.exceptions[0][1][:240]
    message = f"locust reported {count} exception(s) in the locustfile: {first}"
    return [GateCheck("exceptions", "locustfile", float(count), 0.0, False, message)]


def _stress(run: PerformanceRun, scenario: Scenario, log: _Log) -> list[Attempt]:
    attempts = []
    for users in stress_steps(scenario):
        log.show(f"stress step: {users} users for {scenario.step_duration:g}s")
        attempt = _one(run, scenario, log, run.out_dir / f"step-{users:05d}-users", users)
        attempts.append(attempt)
        if attempt.problem or attempt.failed:
            break
    return attempts


def _judge(run: PerformanceRun, scenario: Scenario, attempts: list[Attempt]) -> Outcome:
    last = attempts[-1]
    if last.problem:
        return Outcome(TierStatus.ERROR, last.problem, last.checks)
    if scenario.kind == "stress":
        outcome = _judge_stress(scenario, attempts)
        outcome.notes += [f"{a.label}: {note}" for a in attempts for note in a.notes]
    else:
        outcome = _judge_run(last)
    if outcome.status is TierStatus.NO_TESTS:
        return outcome
    _baseline_step(run, scenario, attempts, outcome)
    return outcome


def _judge_run(attempt: Attempt) -> Outcome:
    stats = attempt.stats
    if stats is None or stats.total.requests == 0:
        return Outcome(
            TierStatus.NO_TESTS, "Locust made no requests: do the locustfile's users have @task methods?", []
        )
    failed = attempt.failed
    if failed:
        message = "; ".join(c.message for c in failed[:5])
        return Outcome(TierStatus.FAILED, message, attempt.checks, notes=list(attempt.notes))
    return Outcome(TierStatus.PASSED, "", attempt.checks, notes=list(attempt.notes))


def _judge_stress(scenario: Scenario, attempts: list[Attempt]) -> Outcome:
    """A stress run passes when it breaks above ``sustain_users`` (or never breaks).

    Breaking is what a stress test is for, so the breaking step's failed gates
    are reported as the reason, not as failures; the evidence keeps the last
    step that held plus one ``breaking_point`` check.
    """
    if all(a.stats is None or a.stats.total.requests == 0 for a in attempts):
        return Outcome(TierStatus.NO_TESTS, "Locust made no requests in any stress step", [])
    broken = next((a for a in attempts if a.failed), None)
    held = [a for a in attempts if not a.failed]
    kept = list(held[-1].checks) if held else []
    if broken is None:
        message = f"no breaking point up to {scenario.max_users} users"
        point = GateCheck("breaking_point", "stress", scenario.max_users, scenario.max_users, True, message)
        return Outcome(TierStatus.PASSED, message, [point, *kept], notes=[message])
    reason = broken.failed[0].message
    held_text = f"held {held[-1].users} users" if held else "broke at the first step"
    message = f"breaking point: {broken.users} users ({reason}); {held_text}"
    needed = scenario.sustain_users
    if needed is not None and broken.users <= needed:
        message = f"{message}; must sustain {needed} users"
        point = GateCheck("breaking_point", "stress", broken.users, needed, False, message)
        return Outcome(TierStatus.FAILED, message, [point, *kept], breaking_point=broken.users)
    limit = float(needed) if needed is not None else 0.0
    point = GateCheck("breaking_point", "stress", broken.users, limit, True, message)
    return Outcome(TierStatus.PASSED, message, [point, *kept], notes=[message], breaking_point=broken.users)


def _baseline_step(
    run: PerformanceRun, scenario: Scenario, attempts: list[Attempt], outcome: Outcome
) -> None:
    path = baselines.baseline_file(run.cwd, run.config.baseline_dir, scenario.name)
    stats = _reference_stats(scenario, attempts)
    outcome.baseline = {"file": str(path), "compared": False, "saved": False}
    if run.request.baseline and stats is not None:
        try:
            saved = baselines.load_baseline(path, scenario.name)
        except baselines.BaselineUnavailable as exc:
            outcome.status = TierStatus.MISSING if outcome.status is TierStatus.PASSED else outcome.status
            outcome.message = "; ".join(m for m in (outcome.message, str(exc)) if m)
            return
        regressions, notes = baselines.compare_with_baseline(saved, stats, run.config.tolerance)
        regressions += _breaking_point_check(saved, outcome.breaking_point, scenario)
        outcome.notes += notes
        outcome.checks = sorted([*outcome.checks, *regressions], key=lambda c: c.passed)
        outcome.baseline.update(compared=True, created_at=saved.get("created_at"), run_id=saved.get("run_id"))
        failed = [c for c in regressions if not c.passed]
        if failed:
            outcome.status = TierStatus.FAILED
            outcome.message = "; ".join(m for m in (outcome.message, *(c.message for c in failed[:5])) if m)
    if run.request.save_baseline and stats is not None:
        if outcome.status is TierStatus.PASSED:
            meta = {
                "run_id": run.run_id,
                "target": run.target,
                "users": attempts[-1].users,
                "breaking_point": outcome.breaking_point,
            }
            baselines.save_baseline(path, scenario.name, stats, meta)
            outcome.baseline["saved"] = True
            outcome.notes.append(f"baseline saved: {path}")
        else:
            outcome.notes.append("baseline not saved: the run did not pass")


def _reference_stats(scenario: Scenario, attempts: list[Attempt]) -> LoadStats | None:
    """The figures a baseline holds: the run's, or a stress run's last step that held."""
    if scenario.kind != "stress":
        return attempts[-1].stats
    held = [a for a in attempts if not a.failed and a.stats is not None]
    return held[-1].stats if held else attempts[0].stats


def _breaking_point_check(
    saved: Mapping[str, Any], current: int | None, scenario: Scenario
) -> list[GateCheck]:
    if scenario.kind != "stress":
        return []
    before = saved.get("breaking_point")
    if not isinstance(before, int) or current is None:
        if current is not None and before is None:
            held = scenario.max_users
            message = f"regression breaking_point: breaks at {current} users; the baseline held {held}"
            return [
                GateCheck("regression breaking_point", "stress", current, scenario.max_users, False, message)
            ]
        return []
    passed = current >= before
    word = "" if passed else "regression "
    message = f"{word}breaking_point: {current} users vs baseline {before} users"
    return [GateCheck("regression breaking_point", "stress", float(current), float(before), passed, message)]


__all__ = ["LOCUST_REPORTED_ERRORS", "PerformanceRun", "build_command", "run_performance_tier"]
