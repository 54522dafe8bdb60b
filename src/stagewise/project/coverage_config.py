"""``[coverage]``: what ``--coverage`` measures and the gates it applies, validated once.

::

    [coverage]
    source = ["app"]                  # default: project.source
    fail_under = 80                   # the combined gate ...
    covers = ["unit", "integration"]  # ... over these tiers (default: the coverage tiers with tests)

    [coverage.tiers]                  # per-tier thresholds, each tier's own data
    unit = 70

    [coverage.modules]                # per-module goals on the combined data
    "app/config.py" = 100             # a path (or glob: "app/api/*.py", a folder: "app/api")
    "app.utils" = 100                 # or a dotted module name (a package: every module in it)

Every error names the key path and is exit 3.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

from stagewise.project.model import CoverageConfig, TierConfig
from stagewise.project.table import ConfigTable
from stagewise.project.validate import inside_project, names_in

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_GLOB = set("*?[")


def read_coverage(
    table: ConfigTable, source: tuple[str, ...], tiers: Mapping[str, TierConfig]
) -> CoverageConfig:
    """Validate ``[coverage]``; its source defaults to ``project.source``."""
    measured = [name for name, tier in tiers.items() if tier.coverage]
    config = CoverageConfig(
        source=table.strings("source", source),
        fail_under=table.number("fail_under", 0, 100),
        covers=_covers(table, tiers, measured),
        tiers=_tier_thresholds(table.section("tiers"), tiers, measured),
        modules=_module_goals(table.section("modules")),
    )
    table.check_unknown()
    return config


def _not_measured(name: str) -> str:
    return f"tier {name!r} does not measure coverage (set tiers.{name}.coverage = true to measure it)"


def _covers(table: ConfigTable, tiers: Mapping[str, TierConfig], measured: list[str]) -> tuple[str, ...]:
    if table.raw("covers") == []:
        raise table.error("covers", "must name at least one tier (leave it out for the default)")
    covers = names_in(table, "covers", tiers, (), what="tier", plural="tiers")
    for name in covers:
        if name not in measured:
            raise table.error("covers", _not_measured(name))
    return covers


def _tier_thresholds(
    table: ConfigTable, tiers: Mapping[str, TierConfig], measured: list[str]
) -> dict[str, float]:
    thresholds: dict[str, float] = {}
    for name in list(table.data):
        if name not in tiers:
            raise table.error(name, f"unknown tier (tiers: {', '.join(tiers)})")
        if name not in measured:
            raise table.error(name, _not_measured(name))
        value = table.number(name, 0, 100)
        if value is not None:
            thresholds[name] = value
    table.check_unknown()
    return thresholds


def _module_goals(table: ConfigTable) -> dict[str, float]:
    goals: dict[str, float] = {}
    for key in list(table.data):
        if isinstance(table.data[key], dict):
            raise table.error(
                key,
                'must be a number from 0 to 100 (a module name with dots needs quotes: "app.config" = 100)',
            )
        problem = module_key_problem(key)
        if problem is not None:
            raise table.error(key, problem)
        value = table.number(key, 0, 100)
        if value is not None:
            goals[key] = value
    table.check_unknown()
    return goals


def is_path_pattern(key: str) -> bool:
    """Whether a ``[coverage.modules]`` key is a path pattern (else a dotted module name)."""
    return "/" in key or key.endswith(".py") or bool(_GLOB & set(key))


def module_key_problem(key: str) -> str | None:
    """What is wrong with a ``[coverage.modules]`` key, or ``None``."""
    if is_path_pattern(key):
        if not inside_project(key):
            return f"{key!r} must be a path relative to the project root, inside it"
        return None
    if not _MODULE.match(key):
        return (
            f"{key!r} is neither a path pattern (app/config.py, app/api/*.py) nor a module name (app.config)"
        )
    return None


def module_matches(key: str, path: str) -> bool:
    """Whether the report's file ``path`` (relative, ``/``-separated) is held to goal ``key``.

    A path pattern matches as a glob, or as a folder when it has neither a
    glob nor ``.py``; a module name matches its file, or every file of a
    package, wherever the package sits (``src/app/config.py`` for ``app.config``).
    """
    path = path.replace("\\", "/")
    if is_path_pattern(key):
        pattern = key.removeprefix("./").rstrip("/")
        if pattern.endswith(".py") or _GLOB & set(pattern):
            return fnmatch.fnmatchcase(path, pattern)
        return path.startswith(pattern + "/")
    target = key.replace(".", "/")
    parts = path.split("/")
    for start in range(len(parts)):
        tail = "/".join(parts[start:])
        if tail in (f"{target}.py", f"{target}/__init__.py") or tail.startswith(target + "/"):
            return True
    return False


__all__ = ["is_path_pattern", "module_key_problem", "module_matches", "read_coverage"]
