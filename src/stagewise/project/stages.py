"""``[tiers.NAME]`` and ``[stages.NAME]``: the pytest tiers and the stages that run them.

Both start from the embedded defaults (:mod:`stagewise.project.defaults`);
a table in the file overrides a default key by key or, for a stage, adds one.
"""

from __future__ import annotations

from collections.abc import Mapping

from stagewise.plugins.backends import BACKENDS
from stagewise.project.defaults import default_stages, default_tiers
from stagewise.project.model import ON_REQUEST_TIERS, TIER_ORDER, StageConfig, TierConfig
from stagewise.project.table import ConfigTable
from stagewise.project.validate import (
    NAME,
    env_names,
    inside_project,
    matching,
    member,
    named_tables,
    names_in,
    one_of,
    url,
)


def read_tiers(table: ConfigTable) -> dict[str, TierConfig]:
    """Validate ``[tiers]``: each ``[tiers.NAME]`` overrides a known tier's defaults."""
    tiers = dict(default_tiers())
    check = member(TIER_ORDER, f"unknown tier (allowed: {', '.join(TIER_ORDER)})")
    for tier_name, tier_t in named_tables(table, check):
        base = tiers[tier_name]
        paths = tier_t.strings("paths", base.paths)
        for path in paths:
            if not inside_project(path):
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


def read_stages(table: ConfigTable, tiers: Mapping[str, TierConfig]) -> dict[str, StageConfig]:
    """Validate ``[stages]``: each ``[stages.NAME]`` overrides a default stage or adds one."""
    stages = dict(default_stages())
    check = matching(NAME, "stage names are letters, digits, '.', '_' or '-'")
    for stage_name, stage_t in named_tables(table, check):
        base = stages.get(stage_name) or StageConfig(
            name=stage_name,
            tiers=tuple(t for t in TIER_ORDER if t not in ON_REQUEST_TIERS),
            env_files=(".env", f".env.{stage_name}"),
        )
        stage_tiers = names_in(stage_t, "tiers", tiers, base.tiers, what="tier", plural="tiers")
        base_url = url(stage_t, "base_url", base.base_url)
        stages[stage_name] = StageConfig(
            name=stage_name,
            tiers=tuple(t for t in TIER_ORDER if t in stage_tiers),
            env_files=stage_t.strings("env_files", base.env_files),
            base_url=base_url,
            protected=stage_t.boolean("protected", base.protected),
            markers=stage_t.string("markers", base.markers),
            required_env=env_names(stage_t, "required_env") or base.required_env,
            backend=one_of(stage_t, "backend", BACKENDS, base.backend),
            compose_file=stage_t.string("compose_file", base.compose_file),
            deploy_tiers=_deploy_tiers(
                stage_t, stage_tiers, tiers, stage_t.boolean("protected", base.protected)
            ),
        )
        stage_t.check_unknown()
    return stages


def _deploy_tiers(
    table: ConfigTable, stage_tiers: tuple[str, ...], tiers: Mapping[str, TierConfig], protected: bool
) -> tuple[str, ...] | None:
    """``deploy_tiers``: what ``deploy ENV test`` runs, from the stage's own tiers.

    An in-process tier (one that does not need a target: it imports the app and
    may create and delete rows through the stage's database URL) is allowed only
    when listed here, and never on a protected stage.
    """
    if table.raw("deploy_tiers") is None:
        return None
    listed = names_in(table, "deploy_tiers", tiers, (), what="tier", plural="tiers")
    for name in listed:
        if name not in stage_tiers:
            raise table.error(
                "deploy_tiers", f"{name} is not one of the stage's tiers ({', '.join(stage_tiers)})"
            )
        if protected and not tiers[name].needs_target:
            raise table.error(
                "deploy_tiers",
                f"{name} runs in-process against the stage's data, never on a protected stage: "
                "list only tiers that target the environment",
            )
    return tuple(t for t in TIER_ORDER if t in listed)
