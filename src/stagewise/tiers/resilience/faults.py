"""Faults: each one reversible, journalled before it is applied, reverted even after Ctrl+C.

=================  ==========================================================
``stop-primary``   the primary's database host dies: its Patroni is killed
                   and its PostgreSQL crash-stopped (``pg_ctl -m immediate``),
                   so Patroni on the replica takes the lead once the lease
                   runs out; revert: start that Patroni again, which rejoins
                   as the new leader's standby (with ``failover =
                   "stagewise"``: start the database again, or re-seed it as
                   the promoted replica's standby)
``kill-region``    SIGKILL a region's service; revert: start it again
``blackhole``      iptables DROP of every packet to a region's service port;
                   revert: delete exactly that rule (it carries a comment)
``latency``        delay (+/- jitter) on the replication link's fault proxies
``reset``          reset the replication link's connections, refuse new ones
``partition``      iptables DROP both ways between two regions' namespaces
                   (and their paths to the replication link proxies)
``bandwidth``      ``tc tbf`` on the bridge port into a region
``command``        configured argument lists (remote regions: a cloud CLI)
=================  ==========================================================

Each kind's phase (when it acts) and needs (local topology, namespaces,
iptables/tc, root) are its entry in :data:`stagewise.plugins.faults.FAULTS`,
which names its builder here; every builder has one signature
(:class:`FaultBuilder`).

The journal entry is written first, so a run killed between "recorded" and
"applied" only leaves an undo that is harmless to run.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

from stagewise.errors import MissingError, UsageError
from stagewise.plugins.faults import FAULTS, Phase, fault_spec
from stagewise.project.resilience import CommandFault, ResilienceConfig, Scenario
from stagewise.registry import load_object
from stagewise.tiers.resilience.journal import run_quiet
from stagewise.tiers.resilience.netns import Netns
from stagewise.tiers.resilience.patroni import wait_role
from stagewise.tiers.resilience.postgres import follow, wait_streaming
from stagewise.tiers.resilience.topology import (
    Deployment,
    kill,
    patroni_roles,
    restart,
    wait_healthy,
)


class FaultBuilder(Protocol):
    """What every fault kind's entry in :data:`~stagewise.plugins.faults.FAULTS` names: one signature."""

    def __call__(self, config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
        """The scenario's fault of this kind, bound to ``deployment`` (not applied yet)."""
        ...


@dataclass
class Fault:
    """A fault bound to a deployment: ``apply`` then, always, ``revert``."""

    kind: str
    description: str
    deployment: Deployment
    _apply: Callable[[], None]
    _revert: Callable[[], None]
    target: str | None = None
    applied_at: float | None = None
    reverted_at: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def phase(self) -> Phase:
        """When it acts (failover, routing or the whole scenario), from its registry entry."""
        return fault_spec(self.kind).phase

    def apply(self) -> None:
        """Plant the fault; ``applied_at`` is when it started, so RTO counts the whole outage.

        Set before the work, so a fault that fails half-way is still reverted.
        """
        self.applied_at = time.monotonic()
        self._apply()

    def revert(self) -> None:
        if self.applied_at is None or self.reverted_at is not None:
            return
        self._revert()
        self.reverted_at = time.monotonic()


def load_builder(kind: str) -> FaultBuilder:
    """The builder registered for ``kind`` (``none`` has none: a programming error to ask)."""
    reference = fault_spec(kind).implementation
    if not reference:
        raise KeyError(f"fault {kind!r} has no builder")
    builder = load_object(reference)
    if not callable(builder):
        raise TypeError(f"fault {kind!r}: {reference} is not a FaultBuilder")
    return cast("FaultBuilder", builder)


def make_fault(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault | None:
    """The scenario's fault, bound to the deployment; None for ``fault = "none"``."""
    kind = scenario.fault
    spec = FAULTS.get(kind)
    if spec is None:  # pragma: no cover - the loader validates kinds
        raise UsageError(f"unknown fault {kind!r}")
    if not spec.implementation:
        return None
    if spec.local_only and not deployment.local:
        raise UsageError(
            f"fault {kind!r} needs the local topology; for remote regions configure "
            "[resilience.faults.NAME] apply/revert argument lists and use fault = 'command'"
        )
    if spec.needs_namespaces and deployment.netns is None:
        raise UsageError(
            f"fault {kind!r} needs regions in network namespaces: set [resilience.local] network = 'netns' "
            "(the default) instead of 'loopback'"
        )
    return load_builder(kind)(config, scenario, deployment)


def _replica(deployment: Deployment) -> str:
    return next(r.name for r in deployment.regions.values() if r.role != "primary")


def build_stop_primary(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
    """``stop-primary``: through Patroni when it manages the cluster, else stagewise's own manager."""
    del config, scenario
    return _stop_patroni_primary(deployment) if deployment.patroni_api else _stop_primary(deployment)


def build_kill_region(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
    """``kill-region``: the scenario's target, else the primary's region."""
    del config
    return _kill_region(deployment, scenario.target or deployment.primary_name)


def build_blackhole(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
    """``blackhole``: the scenario's target, else a replica's region."""
    del config
    return _blackhole(deployment, scenario.target or _replica(deployment))


def build_latency(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
    """``latency``: the scenario's delay and jitter on the replication link."""
    return _link(deployment, config, scenario.latency_ms, scenario.jitter_ms, reset=False)


def build_reset(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
    """``reset``: the replication link's connections reset."""
    del scenario
    return _link(deployment, config, 0.0, 0.0, reset=True)


def build_partition(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
    """``partition``: the primary's region cut from the target (else a replica's)."""
    del config
    return _partition(deployment, deployment.primary_name, scenario.target or _replica(deployment))


def build_bandwidth(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
    """``bandwidth``: traffic into the target (else a replica) limited to the scenario's rate."""
    del config
    return _bandwidth(deployment, scenario.target or _replica(deployment), scenario.rate_kbit)


def build_command(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
    """``command``: the configured fault the scenario names."""
    return _command(deployment, config.faults[str(scenario.command)])


def _stop_primary(deployment: Deployment) -> Fault:
    old = deployment.primary_name
    cluster = deployment.clusters[old]
    replica_name = next(n for n in deployment.clusters if n != old)

    def apply() -> None:
        deployment.journal.record(
            "noop", f"stopped the database primary of {old} (its cluster entry stops it)"
        )
        cluster.stop_immediately()

    def revert() -> None:
        new = deployment.clusters[replica_name]
        if new.in_recovery() is False:
            # Promoted: the old primary comes back as the new primary's standby, through the link proxy.
            link = deployment.links[0] if deployment.links else None
            if link is not None:
                link.retarget(new.port, new.host)
            follow(cluster, new, (link.listen_host, link.port) if link is not None else (new.host, new.port))
            cluster.start(deployment.journal)
            wait_streaming(new, cluster.name)
            deployment.regions[old].role = "replica"
            deployment.regions[replica_name].role = "primary"
        else:
            cluster.start(deployment.journal)

    return Fault("stop-primary", f"stop the database primary in {old}", deployment, apply, revert, old)


def _stop_patroni_primary(deployment: Deployment) -> Fault:
    """The primary's host dies: Patroni first (else it restarts PostgreSQL), then PostgreSQL."""
    old = deployment.primary_name
    cluster = deployment.clusters[old]
    node = f"patroni-{old}"

    def apply() -> None:
        kill(deployment, node)
        cluster.stop_immediately()

    def revert() -> None:
        restart(deployment, node)
        # Back as the leader (its lease had not run out) or as the new leader's standby.
        wait_role(deployment.patroni_api[old], old, ("master", "primary", "replica"), timeout=90)
        roles = patroni_roles(deployment)
        leader = next((name for name, role in roles.items() if role == "primary"), None)
        if leader is None:
            raise MissingError(f"no Patroni node leads after {old} came back: {roles}")
        for name in roles:
            deployment.regions[name].role = "primary" if name == leader else "replica"
        for name in roles:
            if name != leader:
                wait_streaming(deployment.clusters[leader], name, timeout=60)

    return Fault(
        "stop-primary",
        f"the database host of {old} dies (Patroni killed, PostgreSQL crash-stopped)",
        deployment,
        apply,
        revert,
        old,
    )


def _kill_region(deployment: Deployment, name: str) -> Fault:
    def apply() -> None:
        kill(deployment, name)

    def revert() -> None:
        restart(deployment, name)
        wait_healthy(deployment.regions[name].url, f"region {name}'s service (restarted)")

    return Fault("kill-region", f"kill region {name}'s service", deployment, apply, revert, name)


def _blackhole(deployment: Deployment, name: str) -> Fault:
    iptables = shutil.which("iptables")
    if iptables is None or os.geteuid() != 0:
        raise MissingError(
            "the blackhole fault needs iptables and root (apt-get install iptables; run as root)"
        )
    port = deployment.regions[name].url.rsplit(":", 1)[1].split("/")[0]
    tag = f"stagewise-resilience-{uuid.uuid4().hex[:8]}"
    where = ["-p", "tcp", "--dport", port, "-m", "comment", "--comment", tag, "-j", "DROP"]
    # On loopback the region is a port on lo; in a namespace, every packet into its service port.
    prefix = deployment.netns.prefix(name) if deployment.netns is not None else []
    rule = ["INPUT", *([] if prefix else ["-i", "lo"]), *where]
    entry: list[int] = []

    def apply() -> None:
        entry.append(
            deployment.journal.record(
                "argv", f"iptables DROP to {name} (:{port})", argv=[*prefix, iptables, "-w", "5", "-D", *rule]
            )
        )
        done = run_quiet([*prefix, iptables, "-w", "5", "-I", *rule])
        if done.returncode != 0:
            raise MissingError(f"iptables could not add the blackhole rule: {done.stderr.strip()}")

    def revert() -> None:
        deployment.journal.undo(entry[0])

    return Fault(
        "blackhole",
        f"blackhole region {name} (iptables DROP to port {port})",
        deployment,
        apply,
        revert,
        name,
    )


def _link(
    deployment: Deployment, config: ResilienceConfig, latency: float, jitter: float, reset: bool
) -> Fault:
    links = deployment.links
    if not links:  # pragma: no cover - the local topology always has one
        raise MissingError("the local topology has no replication link proxy")
    steady = config.local.link_latency_ms
    what = (
        "reset the replication link" if reset else f"{latency:g} ms +/- {jitter:g} ms on the replication link"
    )

    def apply() -> None:
        deployment.journal.record("noop", what + " (the link proxies live in the run's process)")
        for link in links:
            link.set(latency_ms=latency, jitter_ms=jitter, reset=reset)

    def revert() -> None:
        for link in links:
            link.set(latency_ms=steady)

    return Fault("reset" if reset else "latency", what, deployment, apply, revert)


def _network(deployment: Deployment) -> Netns:
    if deployment.netns is None:  # pragma: no cover - make_fault checks this first
        raise UsageError("this fault needs [resilience.local] network = 'netns'")
    return deployment.netns


def _partition(deployment: Deployment, a: str, b: str) -> Fault:
    network = _network(deployment)
    entries: list[int] = []
    links = [(link.listen_host, link.port) for link in deployment.links]

    def apply() -> None:
        entries.extend(network.partition(a, b, links))

    def revert() -> None:
        for entry in reversed(entries):
            deployment.journal.undo(entry)

    return Fault(
        "partition", f"partition {a} from {b} (iptables DROP both ways)", deployment, apply, revert, b
    )


def _bandwidth(deployment: Deployment, name: str, rate_kbit: int) -> Fault:
    network = _network(deployment)
    entry: list[int] = []

    def apply() -> None:
        entry.append(network.limit_bandwidth(name, rate_kbit))

    def revert() -> None:
        deployment.journal.undo(entry[0])

    return Fault(
        "bandwidth",
        f"limit traffic into {name} to {rate_kbit} kbit/s (tc tbf)",
        deployment,
        apply,
        revert,
        name,
    )


def _command(deployment: Deployment, fault: CommandFault) -> Fault:
    entry: list[int] = []

    def apply() -> None:
        entry.append(deployment.journal.record("argv", f"fault {fault.name}", argv=list(fault.revert)))
        try:
            done = run_quiet(list(fault.apply), timeout=300)
        except FileNotFoundError as exc:
            raise MissingError(f"fault {fault.name}: {fault.apply[0]} is not installed") from exc
        if done.returncode != 0:
            raise MissingError(
                f"fault {fault.name}: {' '.join(fault.apply)} exited {done.returncode}: {done.stderr.strip()[:300]}"
            )

    def revert() -> None:
        deployment.journal.undo(entry[0])

    return Fault("command", f"fault {fault.name} ({' '.join(fault.apply)})", deployment, apply, revert)


__all__ = [
    "Fault",
    "FaultBuilder",
    "build_bandwidth",
    "build_blackhole",
    "build_command",
    "build_kill_region",
    "build_latency",
    "build_partition",
    "build_reset",
    "build_stop_primary",
    "load_builder",
    "make_fault",
]
