"""The embedded defaults: what a project with no project file gets.

They are the spec's layout (``tests/unit``, ``tests/integration``,
``tests/api``, ``tests/e2e``) and its four stages, with ``prod`` protected and
limited to smoke tests.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stagewise.project.model import StageConfig, TierConfig

#: The tiers whose default folders make up the layered layout (``tests/unit``, ...).
LAYERED_TIERS = ("unit", "integration", "api", "e2e")


def default_tiers() -> dict[str, TierConfig]:
    """The four pytest tiers with the spec's paths."""
    return {
        "unit": TierConfig("unit", ("tests/unit",), coverage=True),
        "integration": TierConfig("integration", ("tests/integration",), coverage=True),
        "api": TierConfig("api", ("tests/api",), needs_target=True),
        "e2e": TierConfig("e2e", ("tests/e2e",), needs_target=True, browser=True),
        "performance": TierConfig("performance", ("tests/performance/locustfile.py",), needs_target=True),
        "security": TierConfig("security", ("tests/security",), needs_target=True),
        # Its own regions and router, not the stage target: see [resilience] in the project file.
        "resilience": TierConfig("resilience", ()),
    }


def without_project_file(root: Path, tiers: dict[str, TierConfig]) -> dict[str, TierConfig]:
    """With no project file and none of the layered folders, unit is pytest's own collection.

    A flat ``tests/`` (or tests beside the code) is what most pytest projects
    have; running nothing there because ``tests/unit`` is absent would make the
    first run a dead end. Empty ``paths`` mean "no paths on pytest's command
    line": pytest then collects what its own ``testpaths`` (or its rootdir)
    name, the same tests a bare ``pytest`` runs.
    """
    if any((root / path).exists() for name in LAYERED_TIERS for path in tiers[name].paths):
        return tiers
    return {**tiers, "unit": replace(tiers["unit"], paths=())}


def default_stages() -> dict[str, StageConfig]:
    """dev, test, staging and prod; prod runs read-only smoke tests only."""
    return {
        "dev": StageConfig("dev", ("unit", "integration", "api", "e2e"), (".env", ".env.dev")),
        "test": StageConfig("test", ("unit", "integration", "api", "e2e"), (".env", ".env.test")),
        "staging": StageConfig("staging", ("api", "e2e", "performance"), (".env", ".env.staging")),
        "prod": StageConfig("prod", ("api", "e2e"), (".env", ".env.prod"), protected=True, markers="smoke"),
    }
