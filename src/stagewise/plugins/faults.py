"""The registry of resilience faults: each kind's phase, what it needs, and a lazy reference to its builder.

The phase says when a fault acts (the resilience runner reads it, no list of
names does):

- ``failover``: planted by the failover probe during its client loop, reverted
  as soon as that probe ends (``stop-primary``, ``kill-region``, ``command``);
- ``routing``: planted by the routing probe's health-routing phase
  (``blackhole``);
- ``scenario``: applied before the first probe, spanning the scenario, healed
  before the consistency probe (the replication-link and network faults);
- ``none``: no fault at all.

Registration order is the order the project loader lists the kinds in.
Adding a fault is a builder (``stagewise.tiers.resilience.faults.FaultBuilder``)
plus one ``register`` call below.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from stagewise.registry import Registry

Phase = Literal["failover", "routing", "scenario", "none"]
FAILOVER: Phase = "failover"
ROUTING: Phase = "routing"
SCENARIO: Phase = "scenario"
NONE: Phase = "none"

_FAULTS = "stagewise.tiers.resilience.faults"


class Spec(NamedTuple):
    """One fault kind.

    ``implementation`` is ``"module:attr"`` naming a ``FaultBuilder`` (empty
    for ``none``). ``local_only``: it acts on processes or the network of the
    local topology (remote regions use ``command``); ``needs_namespaces``: the
    regions must live in network namespaces; ``tools``: the system commands
    it runs (``needs_root``: and they need root).
    """

    name: str
    implementation: str = ""
    phase: Phase = NONE
    local_only: bool = False
    needs_namespaces: bool = False
    tools: tuple[str, ...] = ()
    needs_root: bool = False
    summary: str = ""


FAULTS: Registry[Spec] = Registry("fault")
FAULTS.register(
    Spec(
        "stop-primary",
        f"{_FAULTS}:build_stop_primary",
        phase=FAILOVER,
        local_only=True,
        summary="the primary's database host dies (Patroni killed, PostgreSQL crash-stopped)",
    )
)
FAULTS.register(
    Spec(
        "kill-region",
        f"{_FAULTS}:build_kill_region",
        phase=FAILOVER,
        local_only=True,
        summary="SIGKILL a region's service; revert: start it again",
    )
)
FAULTS.register(
    Spec(
        "blackhole",
        f"{_FAULTS}:build_blackhole",
        phase=ROUTING,
        local_only=True,
        tools=("iptables",),
        needs_root=True,
        summary="iptables DROP of every packet to a region's service port",
    )
)
FAULTS.register(
    Spec(
        "latency",
        f"{_FAULTS}:build_latency",
        phase=SCENARIO,
        local_only=True,
        summary="delay (+/- jitter) on the replication link's fault proxies",
    )
)
FAULTS.register(
    Spec(
        "reset",
        f"{_FAULTS}:build_reset",
        phase=SCENARIO,
        local_only=True,
        summary="reset the replication link's connections, refuse new ones",
    )
)
FAULTS.register(
    Spec(
        "partition",
        f"{_FAULTS}:build_partition",
        phase=SCENARIO,
        local_only=True,
        needs_namespaces=True,
        tools=("ip", "iptables"),
        needs_root=True,
        summary="iptables DROP both ways between two regions' namespaces",
    )
)
FAULTS.register(
    Spec(
        "bandwidth",
        f"{_FAULTS}:build_bandwidth",
        phase=SCENARIO,
        local_only=True,
        needs_namespaces=True,
        tools=("tc",),
        needs_root=True,
        summary="tc tbf on the bridge port into a region",
    )
)
FAULTS.register(
    Spec(
        "command",
        f"{_FAULTS}:build_command",
        phase=FAILOVER,
        summary="configured apply/revert argument lists (remote regions: a cloud CLI)",
    )
)
FAULTS.register(Spec("none", summary="no fault: the probes measure the steady state"))


def fault_spec(kind: str) -> Spec:
    """The entry for ``kind``; an unknown kind is a programming error (the loader validates kinds)."""
    spec = FAULTS.get(kind)
    if spec is None:
        raise KeyError(f"unknown fault {kind!r} (faults: {FAULTS.one_of()})")
    return spec


def in_phase(phase: Phase) -> tuple[str, ...]:
    """The kinds that act in ``phase``, in registry order."""
    return tuple(spec.name for spec in FAULTS if spec.phase == phase)


__all__ = ["FAILOVER", "FAULTS", "NONE", "ROUTING", "SCENARIO", "Phase", "Spec", "fault_spec", "in_phase"]
