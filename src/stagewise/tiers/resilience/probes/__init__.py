"""The resilience probes, one module each, picked by name from one registry.

Every probe implements :class:`~stagewise.tiers.resilience.probes.base.Probe`;
adding one is a new module plus its entry in
:data:`stagewise.plugins.probes.PROBES` (its metadata and ``"module:class"``).
The modules load only when their probe runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from stagewise.plugins.probes import probe_spec
from stagewise.registry import load_object
from stagewise.tiers.resilience.probes.base import Probe, ProbeContext, ProbeResult


def load_probe(name: str) -> Probe:
    """A fresh instance of probe ``name``'s class (imported now, not before)."""
    factory = cast("Callable[[], Probe]", load_object(probe_spec(name).implementation))
    probe = factory()
    if not isinstance(probe, Probe) or probe.name != name:
        raise TypeError(f"resilience probe {name!r}: {probe!r} does not implement Probe as {name!r}")
    return probe


__all__ = ["Probe", "ProbeContext", "ProbeResult", "load_probe"]
