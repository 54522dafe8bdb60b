"""Plan a test run: stage, target, interpreter and tiers, with every usage error before anything runs.

The pipeline names no tier: the tiers come from :data:`stagewise.plugins.tiers.TIERS`
(their order is the run order) and each one validates the request and says
which tools it needs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from stagewise.errors import UsageError
from stagewise.pipeline.passthrough import pytest_args
from stagewise.pipeline.selection import collection_note, paths_hint, select_paths
from stagewise.plugins.tiers import TIERS, selectable_tiers, tier_order
from stagewise.project.interpreter import project_python
from stagewise.project.model import DEFAULT_BASE_URL, Project, StageConfig
from stagewise.project.policy import combine_markers, select_tiers, stage_named
from stagewise.registry import load_object
from stagewise.tiers import tools
from stagewise.tiers.base import Tier, TierPlan, ToolNeed
from stagewise.tiers.request import TestRequest
from stagewise.tiers.target import validate_url


@dataclass(frozen=True)
class RunPlan:
    """The whole run, decided before anything starts."""

    stage: StageConfig
    target: str
    python: str
    tiers: tuple[TierPlan, ...]
    needs: tuple[ToolNeed, ...] = field(default=())  # what the planned tiers asked for
    notes: tuple[str, ...] = field(default=())  # lines the run shows under its header

    @property
    def security_checks(self) -> tuple[str, ...]:
        """The named checks the planned tiers run (the security tier's), in their order."""
        return tuple(n.check for n in self.needs if n.check)


def tier_named(name: str) -> Tier:
    """The registered tier's implementation (imported on first use)."""
    spec = TIERS.get(name)
    if spec is None:
        raise UsageError(f"unknown tier {name!r}: tiers are {TIERS.one_of()}")
    return cast("Tier", load_object(spec.implementation))


def plan_run(project: Project, request: TestRequest) -> RunPlan:
    """Decide stage, target, interpreter and tiers; usage errors surface here."""
    stage = stage_named(project, request.stage)
    registered = [tier_named(name) for name in tier_order()]
    for tier in registered:
        tier.check_request(stage, request, request.tiers)
    passthrough = pytest_args(request.pytest_args, request.keyword)
    selected, requested = _selection(project, request)
    run_all = request.run_all and not request.selection  # a selection decides the tiers itself
    chosen = select_tiers(project, stage, requested, run_all, request.stage is not None)
    for tier in registered:
        tier.check_request(stage, request, chosen)
    if request.host is not None:
        target = validate_url(request.host)
    else:
        target = validate_url(stage.base_url or DEFAULT_BASE_URL, f"stages.{stage.name}.base_url")
    for name in chosen:
        tier_named(name).validate(project, request)  # config and usage errors before anything runs
    pytest_tiers = [name for name in chosen if name in selectable_tiers()]
    if passthrough.args and not pytest_tiers:
        raise UsageError(
            f"arguments for pytest ({' '.join(passthrough.args)}) reach the pytest tiers "
            f"({', '.join(selectable_tiers())}); none of them is planned"
        )
    plans = []
    for name in chosen:
        config = project.tiers[name]
        own = name in pytest_tiers
        plans.append(
            TierPlan(
                name=name,
                paths=selected.get(name, config.paths),
                markers=combine_markers(
                    config.markers, stage.markers, request.extra_markers, passthrough.markers if own else None
                ),
                args=(*config.args, *passthrough.args) if own else config.args,
                needs_target=config.needs_target,
                browser=config.browser,
                coverage=request.coverage and config.coverage,
                missing_hint=paths_hint(project, name) if own else "",
            )
        )
    needs = tuple(need for p in plans for need in tier_named(p.name).tools(project, p, request))
    notes = tuple(collection_note(project, n) for n in pytest_tiers if not project.tiers[n].paths)
    return RunPlan(stage, target, project_python(project), tuple(plans), needs, notes)


def _selection(project: Project, request: TestRequest) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """The selection's items per tier, and the tiers asked for (flags, plus those the selection adds)."""
    if not request.selection:
        return {}, request.tiers
    flagged = tuple(t for t in request.tiers if t in selectable_tiers())
    selected = select_paths(project, request.selection, request.selection_base or project.root, flagged)
    return selected, (*request.tiers, *(t for t in selected if t not in request.tiers))


def preflight(project: Project, plan: RunPlan, request: TestRequest, note: Callable[[str], None]) -> None:
    """Check every tool the plan needs before any tier runs (fail fast, exit 4).

    Only tiers that will run tests count: a tier whose paths do not exist ends
    as "no tests", so its tools (pytest, pytest-playwright for a missing e2e
    folder) are not needed. Tools that do not import the project's code
    (``in_stagewise``) are looked for, and installed, in stagewise's own
    interpreter, never in the project's.
    """
    in_project: list[tools.Tool] = []
    own: list[tools.Tool] = []
    for tier in plan.tiers:
        runs = holds_tests(project.root, tier.paths)
        for need in tier_named(tier.name).tools(project, tier, request):
            if need.tool is not None and (need.in_stagewise or runs):
                (own if need.in_stagewise else in_project).append(need.tool)
        if runs:
            in_project += [tools.PYTEST_COV] if tier.coverage else []
            in_project += [tools.PLAYWRIGHT] if tier.browser else []
            in_project += [tools.RERUNFAILURES] if request.reruns > 0 else []
    tools.require_tools(plan.python, _unique(in_project), request.install_missing, note)
    tools.require_tools(sys.executable, _unique(own), request.install_missing, note)


def will_run(project: Project, tier: TierPlan, request: TestRequest) -> bool:
    """Whether a planned tier will do any work: its paths hold tests, or it declares work beyond them.

    A tier that needs a tool in stagewise's own environment or names a check
    (Locust, the security scanners, the resilience probes) runs whatever its
    paths hold; a pytest tier with no test folder ends as "no tests" and so
    needs no target, no browser and no tools.
    """
    if tier.skipped_by_change:
        return False  # --changed: nothing of it is affected, so it starts nothing
    if holds_tests(project.root, tier.paths):
        return True
    return any(n.in_stagewise or n.check for n in tier_named(tier.name).tools(project, tier, request))


def holds_tests(root: Path, paths: Sequence[str]) -> bool:
    """Whether a tier's paths can yield tests: one exists (a node id by its file), or none is set (pytest's own collection)."""
    return not paths or any((root / path.split("::", 1)[0]).exists() for path in paths)


def _unique(found: Iterable[tools.Tool]) -> list[tools.Tool]:
    unique: list[tools.Tool] = []
    for tool in found:
        if tool not in unique:
            unique.append(tool)
    return unique


__all__ = ["RunPlan", "holds_tests", "plan_run", "preflight", "select_tiers", "tier_named", "will_run"]
