"""The registry of resilience probes: each probe's metadata and a lazy reference to its class.

Registration order is the order a scenario runs its probes in (the project
loader keeps a scenario's probes in this order). Each entry says:

- ``plants``: the fault phase (see :mod:`stagewise.plugins.faults`) whose
  fault this probe plants itself while it measures — ``failover`` for the
  failover probe's client loop, ``routing`` for the routing probe's
  health-routing phase; empty when it plants none. The runner hands such a
  probe the fault, and reverts it as soon as the probe ends;
- ``after_heal``: a ``scenario``-phase fault is healed before this probe
  runs (consistency is the promise once the fault is gone);
- ``needs_database``: it connects to the regions' databases itself (their
  DSNs), not only to their services.

Adding a probe is a module under ``stagewise/tiers/resilience/probes`` (a
class implementing ``Probe``) and one ``register`` call below.
"""

from __future__ import annotations

from typing import NamedTuple

from stagewise.registry import Registry

_PROBES = "stagewise.tiers.resilience.probes"


class Spec(NamedTuple):
    """One probe; ``implementation`` is ``"module:attr"`` naming a class implementing ``Probe``."""

    name: str
    implementation: str = ""
    plants: str = ""
    after_heal: bool = False
    needs_database: bool = False
    summary: str = ""


PROBES: Registry[Spec] = Registry("probe")
PROBES.register(
    Spec(
        "lag",
        f"{_PROBES}.lag:LagProbe",
        needs_database=True,
        summary="replication lag: marker rows on the primary, timed until each replica reads them",
    )
)
PROBES.register(
    Spec(
        "routing",
        f"{_PROBES}.routing:RoutingProbe",
        plants="routing",
        summary="where the entry URL sends requests: by client location, by weight, by health",
    )
)
PROBES.register(
    Spec(
        "conflict",
        f"{_PROBES}.conflict:ConflictProbe",
        summary="the same record written through two regions at once: last write wins everywhere",
    )
)
PROBES.register(
    Spec(
        "flow",
        f"{_PROBES}.flow:FlowProbe",
        summary="register in one region, order in another, read the order everywhere",
    )
)
PROBES.register(
    Spec(
        "failover",
        f"{_PROBES}.failover:FailoverProbe",
        plants="failover",
        needs_database=True,
        summary="a client loop through the fault: RTO, RPO and availability",
    )
)
PROBES.register(
    Spec(
        "consistency",
        f"{_PROBES}.consistency:ConsistencyProbe",
        after_heal=True,
        needs_database=True,
        summary="after the load, every region holds the same rows, byte for byte",
    )
)


def probe_spec(name: str) -> Spec:
    """The entry for ``name``; an unknown name is a programming error (the loader validates names)."""
    spec = PROBES.get(name)
    if spec is None:
        raise KeyError(f"unknown probe {name!r} (probes: {PROBES.one_of()})")
    return spec


__all__ = ["PROBES", "Spec", "probe_spec"]
