"""A profile's time budget, checked over a finished run.

A run within its profile's budget records a passing ``budget`` gate; a run
over it records the slowest tiers and tests (from the tiers' own JUnit files)
in the gate's message. The gate fails the run (exit 1) only when the profile
sets ``budget_gate = true``; otherwise it passes with the warning in its
message, which the CLI repeats on stderr.
"""

from __future__ import annotations

from pathlib import Path

from stagewise.project.profiles import ProfileConfig
from stagewise.tiers.junit import read_cases
from stagewise.tiers.result import GateResult, RunResult

BUDGET_GATE = "budget"
SLOWEST = 3


def slowest_tiers(result: RunResult, count: int = SLOWEST) -> list[tuple[str, float]]:
    """The run's slowest tiers, slowest first."""
    timed = sorted(((t.name, t.duration) for t in result.tiers), key=lambda item: -item[1])
    return timed[:count]


def slowest_tests(result: RunResult, count: int = SLOWEST) -> list[tuple[str, float]]:
    """The run's slowest test cases over every tier's JUnit file, slowest first."""
    cases: list[tuple[str, float]] = []
    for tier in result.tiers:
        if tier.junit_path:
            cases += [(case.name, case.duration) for case in read_cases(Path(tier.junit_path))]
    return sorted(cases, key=lambda item: -item[1])[:count]


def budget_gate(result: RunResult, profile: ProfileConfig) -> GateResult | None:
    """The ``budget`` gate for ``result`` under ``profile``; ``None`` when it sets no budget."""
    if profile.budget is None:
        return None
    spent, limit = result.duration, profile.budget
    if spent <= limit:
        return GateResult(
            BUDGET_GATE,
            round(spent, 3),
            limit,
            True,
            f"budget: {spent:.1f} s of {limit:g} s (profile {profile.name})",
        )
    tiers = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest_tiers(result))
    tests = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in slowest_tests(result))
    kind = "over budget" if profile.budget_gate else "over budget (warning)"
    message = (
        f"{kind}: {spent:.1f} s > {limit:g} s (profile {profile.name}); slowest tiers: {tiers or 'none'}"
        + (f"; slowest tests: {tests}" if tests else "")
    )
    return GateResult(BUDGET_GATE, round(spent, 3), limit, not profile.budget_gate, message)


def apply_budget(result: RunResult, profile: ProfileConfig) -> None:
    """Add the ``budget`` gate to ``result`` (before its record is written)."""
    gate = budget_gate(result, profile)
    if gate is not None:
        result.gates.append(gate)
