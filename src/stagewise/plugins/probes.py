"""The registry of resilience probes (stub: names only; its owner adds the metadata and implementations)."""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.registry import Registry


@dataclass(frozen=True)
class Spec:
    """One entry; ``implementation`` is ``"module:attr"``, loaded lazily."""

    name: str
    implementation: str = ""


PROBES: Registry[Spec] = Registry("probe")
for _name in (
    "lag",
    "routing",
    "conflict",
    "flow",
    "failover",
    "consistency",
):
    PROBES.register(Spec(_name))
