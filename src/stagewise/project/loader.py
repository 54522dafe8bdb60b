"""Find and validate the project file into a :class:`Project`.

Validation happens once, here; every error names the file and the key path
(``stages.staging.protected: must be true or false``) and is exit code 3.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stagewise.errors import ConfigError
from stagewise.plugins.tiers import tier_order
from stagewise.project.check_config import read_check
from stagewise.project.coverage_config import read_coverage
from stagewise.project.data import read_data
from stagewise.project.defaults import without_project_file
from stagewise.project.model import BrowserConfig, Project
from stagewise.project.performance import read_performance
from stagewise.project.profiles import read_profiles
from stagewise.project.release_config import read_release
from stagewise.project.resilience import read_resilience
from stagewise.project.security import read_security
from stagewise.project.services_loader import read_compose, read_services
from stagewise.project.stages import read_stages, read_tiers
from stagewise.project.table import ConfigTable
from stagewise.project.validate import env_names

PROJECT_FILE = "stagewise.toml"


def find_project_root(start: Path) -> tuple[Path, Path | None]:
    """Walk up from ``start`` to the nearest project file.

    Returns the root and the file; with no file anywhere above, ``start`` is
    the root and the file is ``None`` (defaults apply).
    """
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return directory, candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _has_tool_table(pyproject):
            return directory, pyproject
    return start, None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return False
    return "[tool.stagewise" in text


def load_project(start: Path) -> Project:
    """Load, validate and default the project found from ``start``."""
    root, file = find_project_root(start)
    if file is None:
        return _build(root, None, {})
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), "(syntax)", str(exc)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(file), "(file)", f"cannot be read: {exc}") from exc
    if file.name == "pyproject.toml":
        tool = document.get("tool", {})
        data = tool.get("stagewise", {}) if isinstance(tool, dict) else {}
        if not isinstance(data, dict):
            raise ConfigError(str(file), "tool.stagewise", "must be a table")
        return _build(root, file, data, prefix="tool.stagewise")
    return _build(root, file, document)


@dataclass(frozen=True)
class ProjectSection:
    """``[project]``: the name, interpreter, sources and defaults of the project as a whole."""

    name: str
    python: str | None = None
    source: tuple[str, ...] = ()
    required_env: tuple[str, ...] = ()
    start_hint: str | None = None
    health_path: str = "/"
    reports_dir: str = "reports"
    default_stage: str = "test"


def read_project_section(table: ConfigTable, default_name: str) -> ProjectSection:
    """Validate ``[project]`` (absent: the directory's name and every default)."""
    name = table.string("name", default_name) or default_name
    python = table.string("python")
    source = table.strings("source", ())
    required_env = env_names(table, "required_env")
    start_hint = table.string("start_hint")
    health_path = table.string("health_path", "/") or "/"
    if not health_path.startswith("/"):
        raise table.error("health_path", "must start with '/'")
    section = ProjectSection(
        name=name,
        python=python,
        source=source,
        required_env=required_env,
        start_hint=start_hint,
        health_path=health_path,
        reports_dir=table.string("reports_dir", "reports") or "reports",
        default_stage=table.string("default_stage", "test") or "test",
    )
    table.check_unknown()
    return section


def read_browser(table: ConfigTable) -> BrowserConfig:
    """Validate ``[browser]``."""
    default = BrowserConfig()
    config = BrowserConfig(
        executable=table.string("executable"),
        args=table.strings("args", default.args),
    )
    table.check_unknown()
    return config


def _build(root: Path, file: Path | None, data: Mapping[str, object], prefix: str = "") -> Project:
    top = ConfigTable(file or root / PROJECT_FILE, prefix, data)
    settings = read_project_section(top.section("project"), root.name)
    tiers = read_tiers(top.section("tiers"))
    if file is None:
        tiers = without_project_file(root, tiers)
    stages = read_stages(top.section("stages"), tiers)
    if settings.default_stage not in stages:
        raise ConfigError(
            top.file,
            top.key("project.default_stage"),
            f"unknown stage {settings.default_stage!r} (stages: {', '.join(stages)})",
        )
    coverage = read_coverage(top.section("coverage"), settings.source, tiers)
    browser = read_browser(top.section("browser"))
    services = read_services(top.section("services"), stages)
    compose = read_compose(top.section("compose"), stages)
    data_config = read_data(top.section("data"), stages)
    performance = read_performance(top.section("performance"))
    security = read_security(top.section("security"))
    resilience = read_resilience(top.section("resilience"))
    releases = read_release(top.section("release"), stages)
    profiles = read_profiles(top.section("profiles"), tier_order())
    check = read_check(top.section("check"))
    top.check_unknown()
    return Project(
        root=root,
        config_file=file,
        services=services,
        compose=compose,
        data=data_config,
        performance=performance,
        security=security,
        resilience=resilience,
        releases=releases,
        profiles=profiles,
        check=check,
        name=settings.name,
        python=settings.python,
        tiers=tiers,
        stages=stages,
        coverage=coverage,
        browser=browser,
        default_stage=settings.default_stage,
        required_env=settings.required_env,
        start_hint=settings.start_hint,
        health_path=settings.health_path,
        reports_dir=settings.reports_dir,
    )
