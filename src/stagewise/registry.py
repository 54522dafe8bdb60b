"""One registry type for every plug point (tiers, backends, security checks, probes, faults).

Why: names used to be written in several places (the loader, the CLI's
choices, a ``must be one of`` message, an if/elif that built the thing). A
registry is the one list: each entry is a small immutable *spec* (a ``NamedTuple``:
cheaper to import than a dataclass, which pulls in ``inspect``) that carries its
own metadata and a lazy reference (``"module:attr"``) to the implementation,
so reading the names never imports a heavy tool and ``stagewise --help`` stays
fast. The per-kind registries live in :mod:`stagewise.plugins`, the bottom
layer, so the project loader can validate names without importing tiers or
backends.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar


class Spec(Protocol):
    """What every registry entry has: a name."""

    @property
    def name(self) -> str: ...


S = TypeVar("S", bound=Spec)


class Registry(Generic[S]):
    """Named specs in registration order (the order is meaningful: it is the run order)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._specs: dict[str, S] = {}

    def register(self, spec: S) -> S:
        """Add ``spec``; a name registered twice is a programming error."""
        if spec.name in self._specs:
            raise ValueError(f"{self.kind} {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register a toy plug-in clean up with this)."""
        self._specs.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(self._specs)

    def one_of(self) -> str:
        """The valid names for a ``must be one of`` message."""
        return ", ".join(self._specs)

    def get(self, name: str) -> S | None:
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[S]:
        return iter(tuple(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)


def load_object(reference: str) -> object:
    """Import ``"package.module:attr"`` and return the attribute (the lazy half of a spec)."""
    module_name, _, attr = reference.partition(":")
    return getattr(importlib.import_module(module_name), attr)


__all__ = ["Registry", "Spec", "load_object"]
