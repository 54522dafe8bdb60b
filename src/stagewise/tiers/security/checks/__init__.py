"""The security checks, one module each, picked by name from one registry.

Every check implements :class:`~stagewise.tiers.security.checks.base.Check`;
adding one is a new module plus its entry in
:data:`stagewise.plugins.security_checks.SECURITY_CHECKS` (its metadata and
``"module:class"``). The modules load only when their check runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from stagewise.plugins.security_checks import check_spec
from stagewise.registry import load_object
from stagewise.tiers.security.checks.base import Check, CheckContext


def load_check(name: str) -> Check:
    """A fresh instance of check ``name``'s class (imported now, not before)."""
    factory = cast("Callable[[], Check]", load_object(check_spec(name).implementation))
    check = factory()
    if not isinstance(check, Check) or check.name != name:
        raise TypeError(f"security check {name!r}: {check!r} does not implement Check as {name!r}")
    return check


__all__ = ["Check", "CheckContext", "load_check"]
