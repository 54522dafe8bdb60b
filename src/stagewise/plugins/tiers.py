"""The registry of test tiers, in pyramid order (the order plans and ``--all`` run them in).

Each entry carries the tier's metadata and a lazy ``"module:attr"`` reference
to an object following :class:`stagewise.tiers.base.Tier`. Adding a tier is
its own module plus one line here (or one ``TIERS.register`` call by a plug-in).
"""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.registry import Registry


@dataclass(frozen=True)
class TierSpec:
    """One tier: its name, whether it runs only on request, its implementation.

    ``page`` optionally names ``"module:attr"``, a function taking the tier's
    record (one entry of summary.json's ``tiers``) and returning an HTML
    fragment for the report page (``None`` or ``""``: nothing to show).
    """

    name: str
    implementation: str
    on_request: bool = False
    page: str = ""


TIERS: Registry[TierSpec] = Registry("tier")
TIERS.register(TierSpec("unit", "stagewise.tiers.pytest_tier:UNIT"))
TIERS.register(TierSpec("integration", "stagewise.tiers.pytest_tier:INTEGRATION"))
TIERS.register(TierSpec("api", "stagewise.tiers.pytest_tier:API"))
TIERS.register(TierSpec("e2e", "stagewise.tiers.pytest_tier:E2E"))
TIERS.register(TierSpec("performance", "stagewise.tiers.performance.tier:TIER", on_request=True))
TIERS.register(TierSpec("security", "stagewise.tiers.security.tier:TIER", on_request=True))
TIERS.register(TierSpec("resilience", "stagewise.tiers.resilience.tier:TIER", on_request=True))


def tier_order() -> tuple[str, ...]:
    """Every registered tier's name, in run order."""
    return TIERS.names()


def on_request_tiers() -> tuple[str, ...]:
    """The tiers that run only when asked for by name or listed by the stage."""
    return tuple(spec.name for spec in TIERS if spec.on_request)


__all__ = ["TIERS", "TierSpec", "on_request_tiers", "tier_order"]
