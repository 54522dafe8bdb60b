"""The performance tier: real Locust, headless, judged by gates and baselines.

Modules, each with one job::

    scenarios   a scenario + --users/--duration -> what Locust is told to do
    runner      runs Locust as a child (run_streaming), one run or stress steps
    stats       Locust's JSON + the stagewise probe -> LoadStats
    gates       LoadStats + configured limits -> GateChecks (exit 1 if any fails)
    baseline    save a scenario's figures; compare a run with them
    drift       endurance: target memory sampling and drift gates
    junit       one JUnit test case per gate
    record      the run, its attempts, the verdict and what it leaves behind (summary, evidence)
    tier        the tier behind the Tier protocol (plugins.tiers names it)

Nothing here imports Locust: it runs in the child process only, so importing
stagewise stays fast and Locust is needed only where the tier runs.
"""

from __future__ import annotations

from stagewise.tiers.performance.runner import PerformanceRun, run_performance_tier
from stagewise.tiers.performance.scenarios import LoadRequest, resolve_scenario
from stagewise.tiers.performance.tier import LOCUST

__all__ = ["LOCUST", "LoadRequest", "PerformanceRun", "resolve_scenario", "run_performance_tier"]
