"""Bring a stage's environment up for a test run when nothing answers, and down after.

Only when the user did not name a ``--host`` (a named host is never started
behind their back), only when the run has tiers that need a target, only
when the stage has something to start (local services or a compose file),
and never on a protected stage (prod is started by a person, not by a test
run). What this run started, it stops, also on Ctrl+C and on failure;
services that were already running before it stay running.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from stagewise.errors import MissingError
from stagewise.pipeline.reporter import Reporter
from stagewise.project.model import Project
from stagewise.tiers.target import check_reachable

if TYPE_CHECKING:
    from stagewise.backends.base import Backend
    from stagewise.pipeline.plan import RunPlan
    from stagewise.tiers.request import TestRequest


def _startable(project: Project, stage_name: str) -> bool:
    from stagewise.backends.registry import can_start

    return can_start(project, project.stages[stage_name])


@contextmanager
def provisioned(
    project: Project, plan: RunPlan, request: TestRequest, env: Mapping[str, str], reporter: Reporter
) -> Iterator[None]:
    """Start the stage's environment for the run if needed; stop it afterwards."""
    from stagewise.pipeline.plan import will_run

    # A tier that will be "no tests" (no test folder, nothing else to do) starts nothing.
    needs_target = any(t.needs_target and will_run(project, t, request) for t in plan.tiers)
    if not needs_target or request.host is not None or not request.auto_start:
        yield
        return
    try:
        check_reachable(plan.target, project.health_path, project.start_hint, timeout=1.0)
    except MissingError:
        pass
    else:
        yield
        return
    if not _startable(project, plan.stage.name):
        yield
        return
    if plan.stage.protected:
        # Like --no-start: the target tiers then report "nothing answers" (exit 4).
        reporter.note(
            f"nothing answers at {plan.target}: {plan.stage.name} is protected, so a test run never "
            f"starts it; start it with `stagewise deploy {plan.stage.name} up -d`"
        )
        yield
        return
    from stagewise.backends.registry import make_backend
    from stagewise.interrupts import interrupt_once
    from stagewise.project.env import known_secrets, mask_text

    backend = make_backend(project, plan.stage, env)
    already = {s.name for s in backend.status() if s.state == "running"}
    reporter.note(
        f"nothing answers at {plan.target}: starting {plan.stage.name} with the {backend.name} backend"
        + (f" ({', '.join(sorted(already))} already running)" if already else "")
    )
    # From the first Ctrl+C on, later ones are not delivered: what this run started is stopped.
    with interrupt_once():
        try:
            backend.up(
                detach=True,
                build=False,
                sink=lambda line: reporter.output("provision", mask_text(line, known_secrets())),
            )
            yield
        finally:
            reporter.note(_stop_what_we_started(backend, plan.stage.name, already))


def _stop_what_we_started(backend: Backend, stage: str, already: set[str]) -> str:
    """Stop what this run started: all (``down``) if nothing ran before, else only the rest.

    Returns the note to show.
    """
    if not already:
        stopped = backend.down(volumes=False)
        return f"stopped {stage} ({', '.join(stopped) or 'nothing left running'})"
    stopped = backend.stop_services([n for n in backend.services() if n not in already])
    kept = ", ".join(sorted(already))
    return f"stopped {stage} ({', '.join(stopped) or 'nothing left running'}); left {kept} running as found"
