"""The resilience tier behind the ``Tier`` protocol: builds a ``ResilienceRun`` and runs it.

Regions, faults and probes instead of pytest: see ``[resilience]`` in the
project file. An unknown ``--scenario`` is a usage error before anything runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from stagewise.project.model import Project, StageConfig
from stagewise.tiers.base import TierContext, TierPlan, ToolNeed
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import TierResult
from stagewise.tiers.tools import Tool

PSYCOPG = Tool("psycopg", "psycopg", "the resilience tier", "3.1", extras="binary")


class ResilienceTier:
    """Deploy regions, inject a fault, and judge the probes' gates."""

    name = "resilience"
    on_request = True

    def tools(self, project: Project, plan: TierPlan, request: TestRequest) -> Sequence[ToolNeed]:
        # The probes are stagewise's own code (the `resilience` extra): psycopg in its interpreter.
        return (ToolNeed(PSYCOPG, in_stagewise=True),)

    def check_request(self, stage: StageConfig, request: TestRequest, tiers: Sequence[str]) -> None:
        return None

    def validate(self, project: Project, request: TestRequest) -> None:
        from stagewise.tiers.resilience.runner import resolve_scenario

        resolve_scenario(project.resilience, request.resilience_scenario)

    def run(self, context: TierContext) -> TierResult:
        from stagewise.tiers.resilience.runner import ResilienceRun, run_resilience_tier

        out_dir = context.run_dir / "resilience"
        run = ResilienceRun(
            project_root=context.root,
            config=context.project.resilience,
            out_dir=out_dir,
            junit_path=out_dir / "junit-resilience.xml",
            log_path=context.run_dir / "resilience.log",
            scenario=context.request.resilience_scenario,
        )
        return run_resilience_tier(run, context.log)


TIER = ResilienceTier()
