"""The security checks, one module each, picked from one registry by name.

Every check implements :class:`~stagewise.tiers.security.checks.base.Check`;
adding one is a new module plus one line here (and its name in
``stagewise.project.security.CHECK_NAMES``).
"""

from __future__ import annotations

from stagewise.tiers.security.checks.bandit import BanditCheck
from stagewise.tiers.security.checks.base import Check, CheckContext
from stagewise.tiers.security.checks.dependencies import DependencyCheck
from stagewise.tiers.security.checks.fuzz import FuzzCheck
from stagewise.tiers.security.checks.passive import PassiveCheck
from stagewise.tiers.security.checks.zap import ZapCheck

REGISTRY: dict[str, type[Check]] = {
    "bandit": BanditCheck,
    "dependencies": DependencyCheck,
    "fuzz": FuzzCheck,
    "passive": PassiveCheck,
    "zap": ZapCheck,
}

__all__ = ["REGISTRY", "Check", "CheckContext"]
