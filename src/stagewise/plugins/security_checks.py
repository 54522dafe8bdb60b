"""The registry of security checks (stub: names only; its owner adds the metadata and implementations)."""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.registry import Registry


@dataclass(frozen=True)
class Spec:
    """One entry; ``implementation`` is ``"module:attr"``, loaded lazily."""

    name: str
    implementation: str = ""


SECURITY_CHECKS: Registry[Spec] = Registry("security_check")
for _name in (
    "bandit",
    "dependencies",
    "fuzz",
    "passive",
    "zap",
):
    SECURITY_CHECKS.register(Spec(_name))
