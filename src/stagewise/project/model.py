"""The typed, validated project model that every other layer reads.

Instances are frozen: the loader builds them once from ``stagewise.toml`` (or
``[tool.stagewise]`` in ``pyproject.toml``) and nothing changes them after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stagewise.plugins.tiers import on_request_tiers, tier_order
from stagewise.project.check_config import CheckConfig
from stagewise.project.data import DataConfig
from stagewise.project.performance_model import PerformanceConfig
from stagewise.project.profiles import BUILTIN_PROFILES, ProfileConfig
from stagewise.project.release_config import ReleaseConfig
from stagewise.project.resilience_model import ResilienceConfig
from stagewise.project.security import SecurityConfig
from stagewise.project.services import ComposeConfig, ServiceConfig

DEFAULT_BASE_URL = "http://localhost:8000"

#: The built-in tiers in pyramid order, as the tier registry lists them at import
#: (``stagewise.plugins.tiers``); code that must see a tier registered later
#: calls ``tier_order()`` / ``on_request_tiers()`` instead.
TIER_ORDER: tuple[str, ...] = tier_order()

#: Tiers that run only when asked for by name (``--performance``) or listed by
#: the stage; ``--all`` and a stage's defaults never pull them in otherwise.
ON_REQUEST_TIERS: tuple[str, ...] = on_request_tiers()


@dataclass(frozen=True)
class TierConfig:
    """One pytest tier: where its tests live and what they need to run."""

    name: str
    paths: tuple[str, ...]
    markers: str | None = None
    args: tuple[str, ...] = ()
    needs_target: bool = False
    browser: bool = False
    coverage: bool = False


@dataclass(frozen=True)
class StageConfig:
    """A stage: which tiers may run, its env files, target and protection."""

    name: str
    tiers: tuple[str, ...]
    env_files: tuple[str, ...]
    base_url: str | None = None
    protected: bool = False
    markers: str | None = None
    required_env: tuple[str, ...] = ()
    backend: str | None = None
    compose_file: str | None = None
    #: What ``deploy ENV test`` runs; ``None``: the stage's tiers that need a target.
    deploy_tiers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CoverageConfig:
    """What ``--coverage`` measures and the gates it applies (``[coverage]``).

    ``fail_under`` is the combined gate over the tiers in ``covers`` (empty:
    every tier that measures coverage and has tests in the project); it applies
    only when all of them ran, since a unit-only number says nothing about a
    limit set for unit + integration. ``tiers`` holds per-tier thresholds;
    ``modules`` per-module goals (a path pattern or a dotted module name ->
    percent), each matched file held to the goal on the combined data.
    """

    source: tuple[str, ...]
    fail_under: float | None = None
    covers: tuple[str, ...] = ()
    tiers: dict[str, float] = field(default_factory=dict)
    modules: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BrowserConfig:
    """The browser the e2e tier drives (a system Chromium, never a download)."""

    executable: str | None = None
    args: tuple[str, ...] = (
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
    )


@dataclass(frozen=True)
class Project:
    """A project as stagewise sees it, with every default filled in."""

    root: Path
    config_file: Path | None
    name: str
    python: str | None
    tiers: dict[str, TierConfig]
    stages: dict[str, StageConfig]
    coverage: CoverageConfig
    browser: BrowserConfig
    default_stage: str = "test"
    required_env: tuple[str, ...] = ()
    start_hint: str | None = None
    health_path: str = "/"
    reports_dir: str = "reports"
    services: dict[str, ServiceConfig] = field(default_factory=dict)
    compose: ComposeConfig = field(default_factory=ComposeConfig)
    data: DataConfig = field(default_factory=DataConfig)
    performance: PerformanceConfig = field(default_factory=PerformanceConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    resilience: ResilienceConfig = field(default_factory=ResilienceConfig)
    releases: dict[str, ReleaseConfig] = field(default_factory=dict)
    profiles: dict[str, ProfileConfig] = field(default_factory=lambda: dict(BUILTIN_PROFILES))
    check: CheckConfig = field(default_factory=CheckConfig)

    def describe_file(self) -> str:
        """The project file's path for messages, or a note that defaults apply."""
        return str(self.config_file) if self.config_file else "(defaults: no stagewise.toml)"
