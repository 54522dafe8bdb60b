"""The registry of test tiers, in pyramid order (the order plans and ``--all`` run them in).

Each entry carries the tier's metadata and a lazy ``"module:attr"`` reference
to an object following :class:`stagewise.tiers.base.Tier`. Adding a tier is
its own module plus one line here (or one ``TIERS.register`` call by a plug-in).
"""

from __future__ import annotations

from typing import NamedTuple

from stagewise.registry import Registry


class TierSpec(NamedTuple):
    """One tier: its name, whether it runs only on request, its implementation.

    ``help`` is the line ``stagewise test --help`` shows for its flag. ``page`` optionally names ``"module:attr"``, a function taking the tier's
    record (one entry of summary.json's ``tiers``) and returning an HTML
    fragment for the report page (``None`` or ``""``: nothing to show).
    """

    name: str
    implementation: str
    on_request: bool = False
    page: str = ""
    help: str = ""  # the ``stagewise test --NAME`` flag's help line
    #: Its paths are pytest's arguments: a PATH|NODEID selection and ``-- ARGS`` reach it.
    selectable: bool = False


TIERS: Registry[TierSpec] = Registry("tier")
_PYTEST = "stagewise.tiers.pytest_tier"
TIERS.register(
    TierSpec(
        "unit",
        f"{_PYTEST}:UNIT",
        help="run the unit tier (the default when no tier flag is given)",
        selectable=True,
    )
)
TIERS.register(
    TierSpec("integration", f"{_PYTEST}:INTEGRATION", help="run the integration tier", selectable=True)
)
TIERS.register(
    TierSpec("api", f"{_PYTEST}:API", help="run the api tier against the target (--host)", selectable=True)
)
TIERS.register(
    TierSpec(
        "e2e",
        f"{_PYTEST}:E2E",
        help="run the e2e tier in a real Chromium against the target (--host)",
        selectable=True,
    )
)
TIERS.register(
    TierSpec(
        "performance",
        "stagewise.tiers.performance.tier:TIER",
        on_request=True,
        help="run the Locust load test (tests/performance/locustfile.py) against the target",
    )
)
TIERS.register(
    TierSpec(
        "security",
        "stagewise.tiers.security.tier:TIER",
        on_request=True,
        help="run the security checks (bandit, pip-audit, API fuzzing, passive HTTP, ZAP) and tests/security",
    )
)
TIERS.register(
    TierSpec(
        "resilience",
        "stagewise.tiers.resilience.tier:TIER",
        on_request=True,
        help="measure replication lag, failover, consistency and routing across regions ([resilience])",
    )
)


def tier_order() -> tuple[str, ...]:
    """Every registered tier's name, in run order."""
    return TIERS.names()


def selectable_tiers() -> tuple[str, ...]:
    """The tiers that run pytest on their paths, so a path selection and ``-- ARGS`` reach them."""
    return tuple(spec.name for spec in TIERS if spec.selectable)


def on_request_tiers() -> tuple[str, ...]:
    """The tiers that run only when asked for by name or listed by the stage."""
    return tuple(spec.name for spec in TIERS if spec.on_request)


__all__ = ["TIERS", "TierSpec", "on_request_tiers", "selectable_tiers", "tier_order"]
