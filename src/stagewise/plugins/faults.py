"""The registry of resilience faults (stub: names only; its owner adds the metadata and implementations)."""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.registry import Registry


@dataclass(frozen=True)
class Spec:
    """One entry; ``implementation`` is ``"module:attr"``, loaded lazily."""

    name: str
    implementation: str = ""


FAULTS: Registry[Spec] = Registry("fault")
for _name in (
    "stop-primary",
    "kill-region",
    "blackhole",
    "latency",
    "reset",
    "partition",
    "bandwidth",
    "command",
    "none",
):
    FAULTS.register(Spec(_name))
