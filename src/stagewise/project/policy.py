"""Stage policy: which tiers a request may run on a stage, and with what filter.

Protected stages (prod) run only read-only smoke tests: the stage's marker
expression is ANDed with every tier's own, so no tier can widen it.
"""

from __future__ import annotations

from collections.abc import Sequence

from stagewise.errors import UsageError
from stagewise.plugins.tiers import on_request_tiers, tier_order
from stagewise.project.model import Project, StageConfig


def stage_named(project: Project, name: str | None) -> StageConfig:
    """The requested stage (or the project's default), or a usage error listing the valid ones."""
    chosen = name or project.default_stage
    if chosen not in project.stages:
        valid = ", ".join(project.stages)
        raise UsageError(f"unknown stage {chosen!r}: valid stages are {valid}")
    return project.stages[chosen]


def select_tiers(
    project: Project,
    stage: StageConfig,
    requested: Sequence[str],
    run_all: bool,
    stage_given: bool,
) -> tuple[str, ...]:
    """The tiers to run, in the tier registry's order (a tier registered later included).

    Explicit tier flags win; ``--all`` means every tier the stage allows,
    plus the on-request tiers named beside it; with neither, a named stage
    runs its own tiers and no stage runs the base of the pyramid.
    """
    order, on_request = tier_order(), on_request_tiers()
    base = order[0]
    if run_all:
        chosen: Sequence[str] = [
            *stage.tiers,
            *(t for t in requested if t in on_request and t not in stage.tiers),
        ]
    elif requested:
        chosen = requested
    elif stage_given or base not in stage.tiers:
        chosen = stage.tiers
    else:
        chosen = (base,)
    for tier in chosen:
        if tier not in project.tiers or tier not in order:
            raise UsageError(f"unknown tier {tier!r}: tiers are {', '.join(project.tiers)}")
        if tier in on_request and tier in requested and not stage.protected:
            continue  # asked for by name on an unprotected stage; --all never pulls it in
        if tier not in stage.tiers:
            allowed = ", ".join(stage.tiers) or "none"
            why = " (a protected stage)" if stage.protected else ""
            raise UsageError(f"the {tier} tier does not run on stage {stage.name}{why}; it runs: {allowed}")
    if not chosen:
        raise UsageError(f"stage {stage.name} runs no tiers: set stages.{stage.name}.tiers")
    return tuple(t for t in order if t in chosen)


def combine_markers(*expressions: str | None) -> str | None:
    """AND together marker expressions, keeping each one's own precedence."""
    parts = [f"({e})" for e in expressions if e]
    if not parts:
        return None
    return parts[0][1:-1] if len(parts) == 1 else " and ".join(parts)
