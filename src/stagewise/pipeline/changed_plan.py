"""The run plan under ``--changed``: each pytest tier narrowed to the tests the change affects.

Also decides which tiers record impact data in this run (a whole coverage
tier in a git project). Every usage error (a bad REF, no git repository)
surfaces here, before anything runs.
"""

from __future__ import annotations

from dataclasses import replace

from stagewise.errors import MissingError, UsageError
from stagewise.pipeline import git_changes
from stagewise.pipeline.changed import TierChoice, impact_filter, judge_tiers
from stagewise.pipeline.durations import read_durations
from stagewise.pipeline.impact import is_output, read_impact, snapshot
from stagewise.pipeline.plan import RunPlan
from stagewise.plugins.tiers import selectable_tiers
from stagewise.project.model import Project
from stagewise.tiers.base import TierPlan
from stagewise.tiers.request import TestRequest

__all__ = ["changed_plan", "one_process", "tier_filter"]

#: Below this much recorded test time a narrowed tier runs in one process: xdist's workers
#: (each a new interpreter importing the project and its plugins) cost more to start than
#: they would save. Measured on examples/shop's integration tier: 9 tests took 8.7 s on
#: ``-n 2`` and 4.1 s on ``-n 0``.
ONE_PROCESS_SECONDS = 5.0

_WORKER_OPTIONS = ("-n", "--numprocesses")


def _asks_workers(args: tuple[str, ...]) -> bool:
    return any(a in _WORKER_OPTIONS or a.startswith(("-n", "--numprocesses=")) for a in args)


def one_process(
    args: tuple[str, ...], configured: tuple[str, ...], choice: TierChoice, durations: dict[str, float]
) -> tuple[tuple[str, ...], str]:
    """The narrowed tier's arguments, with ``-n 0`` appended when its workers would not pay.

    Only when the tier's configured ``args`` ask for xdist workers (never over workers
    asked for after ``--``) and every kept test has a recorded time: a changed test file
    runs whole, its time unknown, so it keeps them. The second value is the run's note,
    empty when nothing changed.
    """
    given = args[len(configured) :] if args[: len(configured)] == configured else args
    if not _asks_workers(configured) or _asks_workers(given) or choice.files:
        return args, ""
    times = [durations.get(node) for node in choice.keep]
    if any(t is None for t in times):
        return args, ""
    total = sum(t for t in times if t is not None)
    if total >= ONE_PROCESS_SECONDS:
        return args, ""
    note = (
        f"{len(times)} test(s), {total:.1f} s recorded: in one process (-n 0), "
        "since starting workers would cost more"
    )
    return (*args, "-n", "0"), note


def tier_filter(project: Project, tier: TierPlan) -> list[object]:
    """What the tier's recorded tests depend on besides its paths (compared before using the data)."""
    return impact_filter(tier.markers, project.tiers[tier.name].args)


def changed_plan(
    project: Project, plan: RunPlan, request: TestRequest
) -> tuple[RunPlan, dict[str, object] | None]:
    """The plan with ``--changed`` applied and impact recording marked, and the run's ``changed`` record."""
    if not request.changed:
        return _mark_recording(project, plan, request, {}), None
    if request.selection:
        raise UsageError(
            f"--changed picks the tests itself: drop {request.selection[0]} "
            "(or write --changed=REF when it was meant as the REF)"
        )
    if request.shard is not None:
        raise UsageError(
            "--changed with --shard: the affected tests are too few to split reliably "
            "(a shard could be empty); run --changed on one runner"
        )
    found = git_changes.changed_files(project.root, request.changed_ref)
    outputs = (project.reports_dir, *([str(request.reports_dir)] if request.reports_dir else []))
    change = replace(
        found,
        files=frozenset(f for f in found.files if not is_output(f, outputs)),
        deleted=frozenset(f for f in found.deleted if not is_output(f, outputs)),
    )
    pytest_names = [t.name for t in plan.tiers if t.name in selectable_tiers()]
    current = snapshot(project.root, (project.reports_dir,))
    impact = read_impact(project.root)
    choices = judge_tiers(
        project,
        pytest_names,
        [t for t in selectable_tiers() if t in project.tiers],
        change,
        impact,
        current,
        {t.name: tier_filter(project, t) for t in plan.tiers if t.name in pytest_names},
        {name: data.filter for name, data in impact.items()},
        remote=frozenset(t.name for t in plan.tiers if t.needs_target),
    )
    by_tier = {c.tier: c for c in choices}
    durations = read_durations(project.root)
    tiers: list[TierPlan] = []
    notes = [
        f"--changed: against {change.ref} ({change.commit[:10]}), {len(change.files)} changed file(s)"
        + (f": {', '.join(sorted(change.files)[:5])}" if change.files else "")
        + (" ..." if len(change.files) > 5 else "")
    ]
    for tier in plan.tiers:
        choice = by_tier.get(tier.name)
        if choice is None:
            notes.append(f"--changed: {tier.name} is not a pytest tier, so it runs as asked")
            tiers.append(tier)
        elif choice.whole:
            notes.append(f"--changed: {tier.name} runs whole: {choice.reason}")
            tiers.append(tier)
        elif choice.nothing:
            notes.append(f"--changed: {tier.name} skipped: {choice.reason}")
            tiers.append(replace(tier, skipped_by_change=choice.reason))
        else:
            notes.append(f"--changed: {tier.name} runs {choice.reason}")
            args, why = one_process(tier.args, project.tiers[tier.name].args, choice, durations)
            notes += [f"--changed: {tier.name}: {why}"] if why else []
            tiers.append(replace(tier, paths=choice.paths(), changed_keep=choice.keep_document(), args=args))
    narrowed = replace(plan, tiers=tuple(tiers), notes=(*plan.notes, *notes))
    record: dict[str, object] = {"ref": change.ref, "commit": change.commit, "files": sorted(change.files)}
    return _mark_recording(project, narrowed, request, by_tier), record


def _mark_recording(
    project: Project, plan: RunPlan, request: TestRequest, choices: dict[str, TierChoice]
) -> RunPlan:
    """A coverage tier that runs whole, in a git project, records impact data for later ``--changed`` runs."""
    if request.selection or request.keyword or request.pytest_args or request.shard is not None:
        return plan
    if not any(t.coverage for t in plan.tiers):
        return plan
    try:
        if not git_changes.head_commit(project.root):
            return plan  # not a git project (or no commit yet): nothing to compare with later
    except MissingError:
        return plan  # no git at all: --changed could not be used, so nothing is recorded
    sources = tuple(
        path
        for name in selectable_tiers()
        if name in project.tiers
        for path in project.tiers[name].paths
        if (project.root / path).is_dir()
    )
    tiers = tuple(
        replace(tier, record_impact=True, impact_sources=sources)
        if tier.coverage
        and tier.name in selectable_tiers()
        and (tier.name not in choices or choices[tier.name].whole)
        and not tier.skipped_by_change
        else tier
        for tier in plan.tiers
    )
    return replace(plan, tiers=tiers)
