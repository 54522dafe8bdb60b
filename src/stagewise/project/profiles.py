"""``[profiles.NAME]``: what a trigger runs (its tiers and stage) and the time it may take.

A profile is picked with ``stagewise test --profile NAME`` and by the CI writer
(``stagewise ci``), which maps each trigger to one: a pull request to ``pr``, a
push to the main branch to ``main``, the schedule to ``nightly``. The built-ins
follow the seed guide (upload_system_testing.md): PR checks under 2 minutes, a
push to main under 10, the nightly regression under 15. A project's table of
the same name replaces the built-in key by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stagewise.project.table import ConfigTable

#: How many shards a tier may be split into at most (``shards = N``).
MAX_SHARDS = 64


@dataclass(frozen=True)
class ProfileConfig:
    """One profile: the tiers it runs, the stage, and its budget in seconds.

    ``budget_gate``: a run over ``budget`` fails (exit 1); otherwise it only
    warns. ``shards`` maps a tier to the number of CI jobs it is split over.
    ``trigger`` is the CI event it answers (``pull_request``, ``push``,
    ``schedule``) or ``None`` for a profile run only by hand.
    """

    name: str
    tiers: tuple[str, ...]
    stage: str | None = None
    budget: float | None = None
    budget_gate: bool = False
    shards: Mapping[str, int] = field(default_factory=dict)
    trigger: str | None = None


TRIGGERS = ("pull_request", "push", "schedule")

BUILTIN_PROFILES: dict[str, ProfileConfig] = {
    "pr": ProfileConfig("pr", ("unit", "integration", "api"), budget=120.0, trigger="pull_request"),
    "main": ProfileConfig("main", ("unit", "integration", "api", "e2e"), budget=600.0, trigger="push"),
    "nightly": ProfileConfig(
        "nightly",
        ("unit", "integration", "api", "e2e", "performance", "security"),
        budget=900.0,
        trigger="schedule",
    ),
}


def read_profiles(table: ConfigTable, known_tiers: tuple[str, ...]) -> dict[str, ProfileConfig]:
    """Validate ``[profiles]`` over the built-ins; tier names must be tiers the project knows."""
    profiles = dict(BUILTIN_PROFILES)
    for name in sorted(table.data):
        section = table.table(name)
        if section is None:
            continue
        base = profiles.get(name, ProfileConfig(name, ()))
        tiers = section.strings("tiers", base.tiers)
        for tier in tiers:
            if tier not in known_tiers:
                raise section.error("tiers", f"unknown tier {tier!r} (tiers: {', '.join(known_tiers)})")
        if not tiers:
            raise section.error("tiers", "must list at least one tier")
        budget = section.seconds("budget")
        shards = _read_shards(section, tiers)
        trigger = section.string("trigger", base.trigger, choices=TRIGGERS)
        profiles[name] = ProfileConfig(
            name=name,
            tiers=tiers,
            stage=section.string("stage", base.stage),
            budget=budget if budget is not None else base.budget,
            budget_gate=section.boolean("budget_gate", base.budget_gate),
            shards=shards if shards is not None else base.shards,
            trigger=trigger,
        )
        section.check_unknown()
    return profiles


def _read_shards(section: ConfigTable, tiers: tuple[str, ...]) -> dict[str, int] | None:
    shards = section.table("shards")
    if shards is None:
        return None
    counts: dict[str, int] = {}
    for tier in sorted(shards.data):
        if tier not in tiers:
            raise shards.error(tier, f"is not one of this profile's tiers ({', '.join(tiers)})")
        counts[tier] = shards.whole(tier, 1, MAX_SHARDS) or 1
    shards.check_unknown()
    return counts
