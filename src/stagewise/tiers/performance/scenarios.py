"""Turn a scenario and the command line's overrides into what Locust is told to do.

``--users`` and ``--duration`` override a constant or endurance scenario's
users and duration, and a stress scenario's top step and step length; a load
shape is its own plan, so overriding it is a usage error rather than a
silently ignored flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from stagewise.errors import UsageError
from stagewise.project.performance import PerformanceConfig, Scenario


@dataclass(frozen=True)
class LoadRequest:
    """The performance flags of ``stagewise test``, already parsed."""

    scenario: str | None = None
    users: int | None = None
    duration: float | None = None
    workers: int | None = None
    save_baseline: bool = False
    baseline: bool = False


def resolve_scenario(config: PerformanceConfig, request: LoadRequest) -> Scenario:
    """The scenario to run with the command line's overrides applied, or a usage error."""
    name = request.scenario or config.scenario
    scenario = config.scenarios.get(name)
    if scenario is None:
        raise UsageError(f"unknown scenario {name!r}: scenarios are {', '.join(config.scenarios)}")
    if request.users is not None and request.users < 1:
        raise UsageError(f"--users {request.users}: must be at least 1")
    if request.duration is not None and request.duration <= 0:
        raise UsageError(f"--duration {request.duration:g}: must be more than 0 seconds")
    if request.workers is not None and not 0 <= request.workers <= 256:
        raise UsageError(f"--workers {request.workers}: must be from 0 to 256")
    overridden = request.users is not None or request.duration is not None
    if scenario.kind == "shape" and overridden:
        raise UsageError(
            f"scenario {name} is a load shape (its stages set users and time): drop --users/--duration"
        )
    if scenario.kind == "stress":
        return replace(
            scenario,
            max_users=max(request.users or scenario.max_users, scenario.start_users),
            step_duration=request.duration or scenario.step_duration,
        )
    return replace(
        scenario, users=request.users or scenario.users, duration=request.duration or scenario.duration
    )


def stress_steps(scenario: Scenario) -> list[int]:
    """The user counts a stress scenario climbs through, ending exactly at ``max_users``."""
    steps = list(range(scenario.start_users, scenario.max_users + 1, scenario.step_users))
    if steps[-1] != scenario.max_users:
        steps.append(scenario.max_users)
    return steps


def run_time(seconds: float) -> str:
    """Locust's ``--run-time`` for ``seconds`` (whole seconds, rounded up)."""
    return f"{max(math.ceil(seconds), 1)}s"


def describe(scenario: Scenario) -> str:
    """One line saying what the scenario will do, for the log and the terminal."""
    if scenario.kind == "shape":
        parts = [f"{s.users} users for {s.duration:g}s" for s in scenario.stages]
        return f"scenario {scenario.name} (load shape): " + ", then ".join(parts)
    if scenario.kind == "stress":
        return (
            f"scenario {scenario.name} (stress): {scenario.start_users} to {scenario.max_users} users "
            f"in steps of {scenario.step_users}, {scenario.step_duration:g}s each, until a gate breaks"
        )
    return (
        f"scenario {scenario.name} ({scenario.kind}): {scenario.users} users "
        f"(spawn {scenario.effective_spawn_rate:g}/s) for {scenario.duration:g}s"
    )


__all__ = ["LoadRequest", "describe", "resolve_scenario", "run_time", "stress_steps"]
