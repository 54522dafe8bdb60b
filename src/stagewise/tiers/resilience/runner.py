"""Run the resilience tier: build or reach the regions, run the scenario's probes, judge the gates.

The shape is Chaos Toolkit's: revert what a crashed run left (the journal),
check the steady state, plant the fault while the probes measure, always roll
back, and check the steady state again. The verdict:

- a region, the router or a capability is missing -> ``MISSING`` (exit 4)
- a gate failed (the message names the probe, the value and the limit) ->
  ``FAILED`` (exit 1)
- otherwise ``PASSED``

Ctrl+C (or SIGTERM) reverts the fault, stops everything the run started, and
raises :class:`~stagewise.errors.InterruptedRun` (exit 130).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagewise.errors import InterruptedRun, MissingError, UsageError
from stagewise.interrupts import interrupt_once
from stagewise.plugins.faults import SCENARIO
from stagewise.plugins.probes import PROBES, Spec, probe_spec
from stagewise.project.resilience import ResilienceConfig, ResilienceGates, Scenario
from stagewise.tiers.resilience.faults import Fault, make_fault
from stagewise.tiers.resilience.journal import Journal
from stagewise.tiers.resilience.junit import write_junit
from stagewise.tiers.resilience.probes import ProbeContext, load_probe
from stagewise.tiers.resilience.probes.base import ProbeResult, holds
from stagewise.tiers.resilience.topology import Deployment, build_local, http_json, remote_deployment
from stagewise.tiers.result import FailedTest, RecordEvidence, TestCounts, TierResult, TierStatus

SUMMARY_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ResilienceRun:
    """Everything one resilience tier needs, resolved by the pipeline."""

    project_root: Path
    config: ResilienceConfig
    out_dir: Path
    junit_path: Path
    log_path: Path
    scenario: str | None = None
    python: str = sys.executable
    entry_url: str | None = None


def resolve_scenario(config: ResilienceConfig, name: str | None) -> Scenario:
    """The named scenario (or the configured default); a usage error lists the valid ones."""
    chosen = name or config.scenario
    if chosen not in config.scenarios:
        raise UsageError(
            f"unknown resilience scenario {chosen!r}: scenarios are {', '.join(config.scenarios)}"
        )
    return config.scenarios[chosen]


class _Log:
    """The tier's log file plus the relay to the terminal."""

    def __init__(self, path: Path, on_line: Callable[[str], None]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("w", encoding="utf-8")
        self.on_line = on_line

    def __call__(self, line: str) -> None:
        self.file.write(line + "\n")
        self.file.flush()
        self.on_line(line)

    def close(self) -> None:
        self.file.close()


def steady_state(deployment: Deployment) -> list[str]:
    """Every region's service and the entry URL answer /health with 200; the problems otherwise."""
    problems = []
    targets = [(f"region {r.name}", r.url) for r in deployment.regions.values()]
    for what, url in [*targets, ("the entry URL", deployment.entry_url)]:
        try:
            status, _payload, _ = http_json("GET", url.rstrip("/") + "/health", timeout=3)
        except OSError as exc:
            problems.append(f"{what} ({url}) is unreachable: {exc or type(exc).__name__}")
            continue
        if status != 200:
            problems.append(f"{what} ({url}) answers /health with {status}")
    return problems


def run_resilience_tier(run: ResilienceRun, on_line: Callable[[str], None]) -> TierResult:
    """Run the scenario and judge it; failures come back as a result, never an error.

    Raises only :class:`~stagewise.errors.UsageError` (an unknown scenario, a
    local-only fault on remote regions) and :class:`InterruptedRun`.
    """
    scenario = resolve_scenario(run.config, run.scenario)
    started = time.monotonic()
    run.out_dir.mkdir(parents=True, exist_ok=True)
    log = _Log(run.log_path, on_line)
    journal = Journal(run.project_root / run.config.state_dir)
    probes: list[ProbeResult] = []
    problems: list[str] = []
    deployment: Deployment | None = None
    # From the first Ctrl+C on, later ones are not delivered: the cleanup below runs whole.
    with interrupt_once():
        try:
            journal.replay(log)
            try:
                deployment = _deploy(run, journal, log)
                problems += steady_state(deployment)
                if not problems:
                    probes = _run_probes(run, scenario, deployment, log)
                    after = steady_state(deployment)
                    probes.append(_steady_after(after))
            except MissingError as exc:
                problems.append(exc.message)
            _close(deployment, journal)  # inside: a Ctrl+C during it closes again, from the top
        except KeyboardInterrupt as exc:
            log("resilience: interrupted: reverting faults and removing the topology")
            _close(deployment, journal)
            log.close()
            raise InterruptedRun(
                "resilience tier interrupted; faults were reverted and everything it started stopped"
            ) from exc
        except BaseException:
            _close(deployment, journal)
            log.close()
            raise
    for problem in problems:
        log(f"resilience: {problem}")
    duration = time.monotonic() - started
    checks = [c for p in probes for c in p.checks]
    failed = [c for c in checks if not c.passed]
    for check in checks:
        log(f"  {'PASS' if check.passed else 'FAIL'}  {check.message}")
    log.close()
    status = TierStatus.FAILED if failed else TierStatus.MISSING if problems else TierStatus.PASSED
    if failed:
        message = f"{len(failed)} of {len(checks)} resilience gates failed: {failed[0].message}"
    elif problems:
        message = problems[0]
    else:
        message = f"scenario {scenario.name}: {len(checks)} resilience gates passed"
    write_junit(run.junit_path, scenario.name, probes, problems)
    summary = _summary(
        run, scenario, deployment=deployment, probes=probes, problems=problems, duration=duration
    )
    summary_path = run.out_dir / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return TierResult(
        name="resilience",
        status=status,
        counts=TestCounts(tests=len(checks) + len(problems), failures=len(failed), errors=len(problems)),
        duration=duration,
        message=message,
        junit_path=str(run.junit_path),
        log_path=str(run.log_path),
        failed_tests=tuple(FailedTest(f"{c.probe} {c.gate}", "gate", c.message) for c in failed),
        evidence=(
            RecordEvidence(
                "resilience",
                {"summary": str(summary_path), "scenario": scenario.name, "figures": summary["figures"]},
            ),
        ),
    )


def _deploy(run: ResilienceRun, journal: Journal, log: Callable[[str], None]) -> Deployment:
    if run.config.topology == "remote":
        deployment = remote_deployment(run.config, journal)
        if run.entry_url:
            deployment.entry_url = run.entry_url
        return deployment
    deployment = build_local(
        run.config, journal, run.project_root / run.config.state_dir, run.python, log, root=run.project_root
    )
    for note in deployment.notes:
        log(f"resilience: {note}")
    return deployment


def _run_probes(
    run: ResilienceRun, scenario: Scenario, deployment: Deployment, log: Callable[[str], None]
) -> list[ProbeResult]:
    """Each probe of the scenario in order; the fault is always reverted, whatever happens.

    When the fault acts is its registry entry's phase: a ``scenario`` fault
    spans the probes (healed before an ``after_heal`` probe); a ``failover``
    or ``routing`` fault goes to the probe that plants it.
    """
    fault = make_fault(run.config, scenario, deployment)
    spans = fault is not None and fault.phase == SCENARIO
    results: list[ProbeResult] = []
    what = fault.description if fault else "none"
    log(f"resilience: scenario {scenario.name}: probes {', '.join(scenario.probes)}; fault {what}")
    try:
        if fault is not None and spans:
            fault.apply()
        for name in scenario.probes:
            spec = probe_spec(name)
            if spec.after_heal and fault is not None and spans:
                fault.revert()  # e.g. consistency: the promise after the fault heals
                log(f"resilience: {fault.kind} reverted before the {name} probe")
            log(f"resilience: probe {name}")
            results.append(_probe(spec, run.config.gates_for(scenario), scenario, deployment, fault))
            for note in results[-1].notes:
                log(f"resilience: {name}: {note}")
    finally:
        if fault is not None:
            fault.revert()
    return results


def _probe(
    spec: Spec, gates: ResilienceGates, scenario: Scenario, deployment: Deployment, fault: Fault | None
) -> ProbeResult:
    """Run one probe; the fault it plants (its phase is the probe's) is reverted as soon as it ends."""
    planted = fault if fault is not None and spec.plants == fault.phase else None
    try:
        return load_probe(spec.name).run(ProbeContext(deployment, gates, scenario, planted))
    finally:
        if planted is not None:
            planted.revert()


def _steady_after(problems: list[str]) -> ProbeResult:
    result = ProbeResult("steady-state")
    if problems:
        for problem in problems:
            result.checks.append(
                holds("steady-state", "steady_state", False, f"after the scenario, {problem}")
            )
    else:
        result.checks.append(
            holds(
                "steady-state",
                "steady_state",
                True,
                "every region and the entry URL healthy after the scenario",
            )
        )
    return result


def _close(deployment: Deployment | None, journal: Journal) -> None:
    """Stop what the run started; safe to call again after an interrupted call (each step is)."""
    if deployment is not None:
        deployment.close()
    journal.undo_all()


def headline(probes: list[ProbeResult]) -> dict[str, Any]:
    """The figures the issue asks for in one flat mapping (lag per replica, RTO, RPO, ...), each probe's own."""
    figures: dict[str, Any] = {}
    for result in probes:
        if result.probe in PROBES:  # the steady-state check has no headline
            figures.update(load_probe(result.probe).headline(result))
    return figures


def _summary(
    run: ResilienceRun,
    scenario: Scenario,
    *,
    deployment: Deployment | None,
    probes: list[ProbeResult],
    problems: list[str],
    duration: float,
) -> dict[str, Any]:
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "scenario": scenario.name,
        "topology": run.config.topology,
        "fault": scenario.fault,
        "duration_s": round(duration, 3),
        "entry_url": deployment.entry_url if deployment else run.config.entry_url,
        "regions": {
            r.name: {"role": r.role, "url": r.url, "weight": r.weight, "location": r.location}
            for r in (deployment.regions.values() if deployment else [])
        },
        "figures": headline(probes),
        "probes": [p.as_dict() for p in probes],
        "problems": problems,
    }


__all__ = ["ResilienceRun", "headline", "resolve_scenario", "run_resilience_tier", "steady_state"]
