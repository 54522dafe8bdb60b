"""The performance tier behind the ``Tier`` protocol: Locust instead of pytest.

The tier's configured paths are its locustfile(s); ``--users``, ``--duration``
and the scenario come from the request's ``load``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from stagewise.project.model import Project, StageConfig
from stagewise.tiers.base import TierContext, TierPlan, ToolNeed
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import TierResult
from stagewise.tiers.tools import Tool

LOCUST = Tool("locust", "locust", "the performance tier")


class PerformanceTier:
    """Real Locust, headless, judged by gates and baselines."""

    name = "performance"
    on_request = True

    def tools(self, project: Project, plan: TierPlan, request: TestRequest) -> Sequence[ToolNeed]:
        # Locust drives the target over HTTP and imports none of the project's code: it runs
        # from stagewise's own environment (the `perf` extra), never installed into the app's.
        return (ToolNeed(LOCUST, in_stagewise=True),)

    def check_request(self, stage: StageConfig, request: TestRequest, tiers: Sequence[str]) -> None:
        return None

    def validate(self, project: Project, request: TestRequest) -> None:
        from stagewise.tiers.performance.scenarios import LoadRequest, resolve_scenario

        resolve_scenario(project.performance, request.load or LoadRequest())  # usage errors first

    def run(self, context: TierContext) -> TierResult:
        from stagewise.tiers.performance.runner import PerformanceRun, run_performance_tier
        from stagewise.tiers.performance.scenarios import LoadRequest

        run = PerformanceRun(
            python=sys.executable,
            cwd=context.root,
            locustfiles=context.plan.paths,
            target=context.target,
            env=context.env,
            out_dir=context.run_dir / "performance",
            log_path=context.run_dir / "performance.log",
            junit_path=context.run_dir / "junit-performance.xml",
            config=context.project.performance,
            request=context.request.load or LoadRequest(),
            verbose=context.verbose,
            run_id=context.run_id,
            secrets=context.secrets,
        )
        return run_performance_tier(run, context.log)


TIER = PerformanceTier()
