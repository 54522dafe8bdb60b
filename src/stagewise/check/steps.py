"""The unit tier and bandit as steps of ``stagewise check``, through the machinery ``stagewise test`` uses.

The unit step is planned by :func:`stagewise.pipeline.plan.plan_run` (the
tier's paths, markers, arguments and its preflight of pytest in the project's
interpreter) and run by the unit tier itself, so it is the same unit run as
``stagewise test --unit``. The bandit step is the security tier's runner with
only its ``bandit`` check: the same scan paths, excludes, allow-list,
``security.fail_on`` gate, findings.json and SARIF.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

from stagewise.check.detect import StepPlan
from stagewise.errors import MissingError, UsageError
from stagewise.pipeline.plan import RunPlan, holds_tests, plan_run, preflight, tier_named
from stagewise.project.model import Project
from stagewise.tiers.base import TierContext
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import TierResult
from stagewise.tiers.tools import install_hint, missing_tools

UNIT = "unit"
BANDIT = "bandit"


@dataclass(frozen=True)
class UnitPlan:
    """The unit step: its plan, and the planned run (``None`` when it will not run)."""

    step: StepPlan
    run: RunPlan | None
    request: TestRequest


def plan_unit(project: Project, request: TestRequest, required: bool) -> UnitPlan:
    """Plan the unit tier as ``stagewise test --unit`` would; why not, when it cannot run.

    A project without unit tests is "not run" unless the check was told to
    run them (``check.steps``): then it is the tier's own "no tests" (exit 5).
    """
    try:
        planned = plan_run(project, request)
    except UsageError as exc:
        return UnitPlan(StepPlan(UNIT, "pytest", not_run=exc.message, required=required), None, request)
    tier = planned.tiers[0]
    if not required and not holds_tests(project.root, tier.paths):
        reason = f"no unit tests: {', '.join(tier.paths)} does not exist{tier.missing_hint}"
        return UnitPlan(StepPlan(UNIT, "pytest", not_run=reason), None, request)
    try:
        preflight(project, planned, request, lambda _line: None)
    except MissingError as exc:
        return UnitPlan(StepPlan(UNIT, "pytest", not_run=exc.message, required=required), None, request)
    return UnitPlan(StepPlan(UNIT, "pytest", required=required), planned, request)


def run_unit(context: TierContext) -> TierResult:
    """Run the planned unit tier (``context`` built by the caller from the unit plan)."""
    return tier_named(UNIT).run(context)


def plan_bandit(project: Project, required: bool) -> StepPlan:
    """bandit from stagewise's own interpreter (its ``security`` extra), as the security tier runs it."""
    from stagewise.tiers.security import BANDIT as BANDIT_TOOL
    from stagewise.tiers.security.tier import security_allowlist

    security_allowlist(project)  # a bad allow-list is exit 3 before anything runs
    if missing_tools(sys.executable, [BANDIT_TOOL]):
        hint = install_hint(sys.executable, [BANDIT_TOOL.requirement])
        reason = f"bandit is not installed in {sys.executable} (stagewise's security extra): run `{hint}`"
        return StepPlan(BANDIT, "bandit", not_run=reason, required=required)
    return StepPlan(BANDIT, "bandit", (sys.executable, "-m", "bandit"), required=required)


def run_bandit(project: Project, context: TierContext) -> TierResult:
    """The security tier's runner with the bandit check alone, its evidence in ``bandit/``."""
    from stagewise.tiers.security import SecurityRun, run_security_tier
    from stagewise.tiers.security.tier import security_allowlist

    run_dir: Path = context.run_dir
    run = SecurityRun(
        root=context.root,
        target=context.target,
        config=replace(project.security, checks=(BANDIT,)),
        allowlist=security_allowlist(project),
        tool_python=sys.executable,
        project_python=context.python,
        source_paths=project.coverage.source,
        env=context.env,
        out_dir=run_dir / BANDIT,
        log_path=run_dir / f"{BANDIT}.log",
        junit_path=run_dir / f"junit-{BANDIT}.xml",
        tests=None,
        verbose=context.verbose,
        secrets=context.secrets,
        import_app=False,  # the quick check reads the source; it never imports the app
    )
    return replace(run_security_tier(run, context.log), name=BANDIT)


__all__ = ["BANDIT", "UNIT", "UnitPlan", "plan_bandit", "plan_unit", "run_bandit", "run_unit"]
