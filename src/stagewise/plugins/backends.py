"""The registry of deploy backends (stub: names only; its owner adds the metadata and implementations)."""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.registry import Registry


@dataclass(frozen=True)
class Spec:
    """One entry; ``implementation`` is ``"module:attr"``, loaded lazily."""

    name: str
    implementation: str = ""


BACKENDS: Registry[Spec] = Registry("backend")
for _name in (
    "local",
    "compose",
):
    BACKENDS.register(Spec(_name))
