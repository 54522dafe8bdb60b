"""Find and validate the project file into a :class:`Project`.

Validation happens once, here; every error names the file and the key path
(``stages.staging.protected: must be true or false``) and is exit code 3.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from stagewise.errors import ConfigError
from stagewise.project.data import read_data
from stagewise.project.defaults import default_stages, default_tiers
from stagewise.project.model import (
    ON_REQUEST_TIERS,
    TIER_ORDER,
    BrowserConfig,
    CoverageConfig,
    Project,
    StageConfig,
    TierConfig,
)
from stagewise.project.performance import parse_performance
from stagewise.project.resilience import parse_resilience
from stagewise.project.security import read_security
from stagewise.project.services_loader import BACKENDS, read_compose, read_services
from stagewise.project.table import TomlTable

PROJECT_FILE = "stagewise.toml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


class _Table(TomlTable):
    """A table of the project file itself; an out-of-range number also shows the value given."""

    def _range_problem(self, value: object, low: float, high: float) -> str:
        problem = super()._range_problem(value, low, high)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return problem
        return f"{problem}, got {value}"


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


def _build(root: Path, file: Path | None, data: Mapping[str, object], prefix: str = "") -> Project:
    top = _Table(file or root / PROJECT_FILE, prefix, data)
    project_t = top.table("project")
    name = root.name
    python: str | None = None
    required_env: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    start_hint: str | None = None
    health_path = "/"
    reports_dir = "reports"
    default_stage = "test"
    if project_t is not None:
        name = project_t.string("name", name) or name
        python = project_t.string("python")
        source = project_t.strings("source", ())
        required_env = _env_names(project_t, "required_env")
        start_hint = project_t.string("start_hint")
        health_path = project_t.string("health_path", "/") or "/"
        if not health_path.startswith("/"):
            raise project_t.error("health_path", "must start with '/'")
        reports_dir = project_t.string("reports_dir", "reports") or "reports"
        default_stage = project_t.string("default_stage", "test") or "test"
        project_t.check_unknown()

    tiers = _tiers(top)
    stages = _stages(top, tiers)
    if default_stage not in stages:
        raise ConfigError(
            top.file,
            top.key("project.default_stage"),
            f"unknown stage {default_stage!r} (stages: {', '.join(stages)})",
        )
    coverage = _coverage(top, source)
    browser = _browser(top)
    services = read_services(top, stages)
    compose = read_compose(top, stages)
    data_config = read_data(top, stages)
    performance_t = top.table("performance")
    performance = parse_performance(
        top.file, top.key("performance"), performance_t.data if performance_t is not None else {}
    )
    security = read_security(top)
    resilience_t = top.table("resilience")
    resilience = parse_resilience(
        top.file, top.key("resilience"), resilience_t.data if resilience_t is not None else {}
    )
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
        name=name,
        python=python,
        tiers=tiers,
        stages=stages,
        coverage=coverage,
        browser=browser,
        default_stage=default_stage,
        required_env=required_env,
        start_hint=start_hint,
        health_path=health_path,
        reports_dir=reports_dir,
    )


def _env_names(table: _Table, key: str) -> tuple[str, ...]:
    names = table.strings(key, ())
    for env_name in names:
        if not _ENV_NAME.match(env_name):
            raise table.error(key, f"{env_name!r} is not a valid environment variable name")
    return names


def _tiers(top: _Table) -> dict[str, TierConfig]:
    tiers = dict(default_tiers())
    tiers_t = top.table("tiers")
    if tiers_t is None:
        return tiers
    for tier_name in list(tiers_t.data):
        tier_t = tiers_t.table(tier_name)
        if tier_t is None:
            raise tiers_t.error(tier_name, "must be a table")
        if tier_name not in TIER_ORDER:
            raise tiers_t.error(tier_name, f"unknown tier (allowed: {', '.join(TIER_ORDER)})")
        base = tiers[tier_name]
        paths = tier_t.strings("paths", base.paths)
        for path in paths:
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise tier_t.error("paths", f"{path!r} must be relative and inside the project")
        tiers[tier_name] = TierConfig(
            name=tier_name,
            paths=paths,
            markers=tier_t.string("markers", base.markers),
            args=tier_t.strings("args", base.args),
            needs_target=tier_t.boolean("needs_target", base.needs_target),
            browser=tier_t.boolean("browser", base.browser),
            coverage=tier_t.boolean("coverage", base.coverage),
        )
        tier_t.check_unknown()
    return tiers


def _stages(top: _Table, tiers: Mapping[str, TierConfig]) -> dict[str, StageConfig]:
    stages = dict(default_stages())
    stages_t = top.table("stages")
    if stages_t is None:
        return stages
    for stage_name in list(stages_t.data):
        stage_t = stages_t.table(stage_name)
        if stage_t is None:
            raise stages_t.error(stage_name, "must be a table")
        if not _NAME.match(stage_name):
            raise stages_t.error(stage_name, "stage names are letters, digits, '.', '_' or '-'")
        base = stages.get(stage_name) or StageConfig(
            name=stage_name,
            tiers=tuple(t for t in TIER_ORDER if t not in ON_REQUEST_TIERS),
            env_files=(".env", f".env.{stage_name}"),
        )
        stage_tiers = stage_t.strings("tiers", base.tiers)
        for tier_name in stage_tiers:
            if tier_name not in tiers:
                raise stage_t.error("tiers", f"unknown tier {tier_name!r} (tiers: {', '.join(tiers)})")
        base_url = stage_t.string("base_url", base.base_url)
        if base_url is not None and not _URL.match(base_url):
            raise stage_t.error("base_url", f"{base_url!r} is not an http(s) URL")
        stages[stage_name] = StageConfig(
            name=stage_name,
            tiers=tuple(t for t in TIER_ORDER if t in stage_tiers),
            env_files=stage_t.strings("env_files", base.env_files),
            base_url=base_url,
            protected=stage_t.boolean("protected", base.protected),
            markers=stage_t.string("markers", base.markers),
            required_env=_env_names(stage_t, "required_env") or base.required_env,
            backend=_backend(stage_t, base.backend),
            compose_file=stage_t.string("compose_file", base.compose_file),
        )
        stage_t.check_unknown()
    return stages


def _backend(stage_t: _Table, default: str | None) -> str | None:
    backend = stage_t.string("backend", default)
    if backend is not None and backend not in BACKENDS:
        raise stage_t.error("backend", f"must be one of {', '.join(BACKENDS)}")
    return backend


def _coverage(top: _Table, source: tuple[str, ...]) -> CoverageConfig:
    coverage_t = top.table("coverage")
    if coverage_t is None:
        return CoverageConfig(source=source)
    cov_source = coverage_t.strings("source", source)
    fail_under = coverage_t.number("fail_under", 0, 100)
    coverage_t.check_unknown()
    return CoverageConfig(source=cov_source, fail_under=fail_under)


def _browser(top: _Table) -> BrowserConfig:
    browser_t = top.table("browser")
    if browser_t is None:
        return BrowserConfig()
    default = BrowserConfig()
    config = BrowserConfig(
        executable=browser_t.string("executable"),
        args=browser_t.strings("args", default.args),
    )
    browser_t.check_unknown()
    return config
