"""The typed model of the ``[resilience]`` table: regions, gates, scenarios, faults.

Frozen dataclasses with the spec's defaults; :mod:`stagewise.project.resilience`
reads and validates the table into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from stagewise.plugins.faults import FAULTS as _FAULT_REGISTRY
from stagewise.plugins.probes import PROBES as _PROBE_REGISTRY

Role = Literal["primary", "replica"]
Topology = Literal["local", "remote"]
Replication = Literal["async", "sync"]
Network = Literal["loopback", "netns"]
RouterKind = Literal["haproxy", "builtin"]
FailoverKind = Literal["patroni", "stagewise"]

#: Probes in the order a scenario runs them (the probe registry, :mod:`stagewise.plugins.probes`).
PROBES: tuple[str, ...] = _PROBE_REGISTRY.names()

#: Fault kinds. ``stop-primary`` stops the database primary (a crash-like
#: immediate stop), ``kill-region`` kills a region's service, ``blackhole``
#: drops every packet to a region's service, ``latency`` delays the
#: replication link (``latency_ms`` +/- ``jitter_ms``), ``reset`` resets the
#: replication link's connections, ``partition`` cuts two regions apart
#: (iptables between namespaces), ``bandwidth`` limits traffic into a region
#: to ``rate_kbit`` (``tc tbf``), ``command`` runs configured argument lists.
#: The fault registry (:mod:`stagewise.plugins.faults`) is the one list.
FAULTS: tuple[str, ...] = _FAULT_REGISTRY.names()


@dataclass(frozen=True)
class ResilienceGates:
    """The spec's promises (staging_tests.md); ``None`` turns a gate off.

    Units: milliseconds for latencies, seconds for RTO/RPO, percent for the
    shares, percentage points for the weight deviation.
    """

    lag_p99_ms: float | None = 100.0
    rto_s: float | None = 120.0
    rpo_s: float | None = 1.0
    availability: float | None = 99.0
    routing_accuracy: float | None = 95.0
    weight_deviation: float | None = 5.0
    p95_ms: float | None = 200.0
    error_rate: float | None = 1.0
    health_reroute_s: float | None = 5.0
    flow_s: float | None = 30.0


@dataclass(frozen=True)
class Region:
    """One region: where its service and database are, its role and routing share."""

    name: str
    role: Role = "replica"
    weight: float = 50.0
    location: str = ""
    url: str | None = None
    dsn: str | None = None

    @property
    def where(self) -> str:
        """The client location this region is nearest to (its name when unset)."""
        return self.location or self.name


@dataclass(frozen=True)
class CommandFault:
    """A remote fault: argument lists to apply and to revert it (never a shell string)."""

    name: str
    apply: tuple[str, ...]
    revert: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    """One named resilience scenario: which probes run and which fault is planted.

    ``fault`` is planted during the failover probe (``stop-primary``,
    ``kill-region``, ``command``) or for the whole scenario (``latency``,
    ``reset``); ``blackhole`` is the routing probe's health check.
    ``duration`` bounds the failover client loop; ``fault_at`` is when, in
    that loop, the fault lands; ``client_deadline`` is how long a client
    retries one write before it gives up (an SDK's retry budget): a write
    that succeeds within it counts as available.
    """

    name: str
    probes: tuple[str, ...] = PROBES
    fault: str = "stop-primary"
    target: str | None = None
    command: str | None = None
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_kbit: int = 256
    marker_bytes: int = 0
    duration: float = 15.0
    fault_at: float = 2.0
    client_deadline: float = 10.0
    markers: int = 100
    requests: int = 200
    gates: Mapping[str, float | None] = field(default_factory=dict)


#: What a region service's command, env and prestart may name (filled in per region at run time).
SERVICE_PLACEHOLDERS: tuple[str, ...] = (
    "python",
    "root",
    "region",
    "host",
    "port",
    "read_url",
    "write_url",
    "token",
)


@dataclass(frozen=True)
class RegionServiceSpec:
    """How the local topology runs the project's own service in each region.

    ``command`` starts one instance (it must listen on ``{host}:{port}`` and
    offer the region contract, see
    :mod:`~stagewise.tiers.resilience.region_app`); ``env`` is added to its
    environment; ``prestart`` runs once, before the first region starts,
    against the primary (migrations). ``{read_url}`` is the region's own
    database first, then the other; ``{write_url}`` follows whichever
    database accepts writes (multi-host, ``target_session_attrs``); ``{token}``
    is a fresh bearer token the probes send with every write.
    """

    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    prestart: tuple[tuple[str, ...], ...] = ()
    startup_timeout: float = 60.0


@dataclass(frozen=True)
class LocalTopology:
    """How the embedded local topology is built.

    ``failover = "patroni"`` (the default) runs Patroni with etcd beside each
    database and lets it do the promotion; ``promote_after`` is then its
    leader lease (``ttl``, whole seconds, at least 5): how long a silent
    primary keeps the lead. ``failover = "stagewise"`` (for machines without
    Patroni) promotes with ``pg_promote()`` once the primary has not answered
    for ``promote_after`` seconds; ``health_check`` gives the
    router active health checks (HAProxy's ``check``); ``link_latency_ms`` is
    a steady one-way delay on the replication link between the regions;
    ``network = "netns"`` (the default) puts each region in its own network
    namespace on a bridge (root, ``ip``, ``iptables``, ``tc``), which the
    ``partition`` and ``bandwidth`` faults need; ``loopback`` runs everything
    on 127.0.0.1 (for machines without root).
    ``router = "haproxy"`` (the default) makes Debian's HAProxy the global
    router (stagewise's builtin router stands in, with a note, when it is not
    installed); ``builtin`` always uses stagewise's own small proxy.
    """

    replication: Replication = "async"
    failover: FailoverKind = "patroni"
    promote_after: float = 5.0
    service: RegionServiceSpec | None = None
    health_check: bool = True
    link_latency_ms: float = 0.0
    network: Network = "netns"
    router: RouterKind = "haproxy"


def default_regions() -> dict[str, Region]:
    """Two regions, as in staging_tests.md: a primary in us-east, a replica in eu-west."""
    return {
        "us-east": Region("us-east", "primary", 50.0, "us-east"),
        "eu-west": Region("eu-west", "replica", 50.0, "eu-west"),
    }


def builtin_scenarios() -> dict[str, Scenario]:
    """The scenarios every project has: the full run and one per planted fault."""
    return {
        "default": Scenario("default"),
        "primary-down": Scenario("primary-down", probes=("failover", "consistency")),
        "region-down": Scenario("region-down", probes=("failover", "consistency"), fault="kill-region"),
        "replication-latency": Scenario(
            "replication-latency", probes=("lag",), fault="latency", latency_ms=150.0, jitter_ms=20.0
        ),
        "blackhole": Scenario("blackhole", probes=("routing",), fault="blackhole"),
        "partition": Scenario(
            "partition", probes=("lag", "failover", "consistency"), fault="partition", markers=5
        ),
        "bandwidth": Scenario(
            "bandwidth", probes=("lag",), fault="bandwidth", markers=5, marker_bytes=32_000
        ),
    }


@dataclass(frozen=True)
class ResilienceConfig:
    """Everything the resilience tier reads from the project file."""

    topology: Topology = "local"
    entry_url: str | None = None
    regions: Mapping[str, Region] = field(default_factory=default_regions)
    gates: ResilienceGates = ResilienceGates()
    scenario: str = "default"
    scenarios: Mapping[str, Scenario] = field(default_factory=builtin_scenarios)
    faults: Mapping[str, CommandFault] = field(default_factory=dict)
    local: LocalTopology = LocalTopology()
    state_dir: str = ".stagewise/resilience"
    #: The table where the service keeps ``PUT /kv`` (columns ``key``, ``value``): the RPO check reads it.
    kv_table: str = "stagewise_kv"
    #: Remote regions: the environment variable holding the bearer token the probes' writes carry.
    token_env: str | None = None

    @property
    def primary(self) -> Region:
        return next(r for r in self.regions.values() if r.role == "primary")

    def gates_for(self, scenario: Scenario) -> ResilienceGates:
        """The project's gates with the scenario's own on top."""
        values = {k: getattr(self.gates, k) for k in ResilienceGates.__dataclass_fields__}
        values.update(scenario.gates)
        return ResilienceGates(**values)


GATE_RANGES: dict[str, tuple[float, float]] = {
    "lag_p99_ms": (0, 3_600_000),
    "rto_s": (0, 86_400),
    "rpo_s": (0, 86_400),
    "availability": (0, 100),
    "routing_accuracy": (0, 100),
    "weight_deviation": (0, 100),
    "p95_ms": (0, 3_600_000),
    "error_rate": (0, 100),
    "health_reroute_s": (0, 3600),
    "flow_s": (0, 3600),
}
