"""The ``[resilience]`` table of the project file: regions, gates, scenarios, faults.

Parsed and validated once into frozen dataclasses; every error is a
:class:`~stagewise.errors.ConfigError` naming the file and the key path
(``resilience.regions.eu.weight: must be a number from 0 to 1000``), exit 3.
Nothing here starts a process or imports a database driver: the project model
must load in milliseconds.

Two topologies share one schema:

- ``local`` (the default): stagewise builds the regions on this machine (a
  PostgreSQL primary and a streaming replica, one region service per region,
  its own router and failover manager). Regions then need only a name, a role,
  a weight and a location; URLs and DSNs are assigned at run time.
- ``remote``: the regions are given as ``url`` and ``dsn`` (a team's real
  staging regions) with the ``entry_url`` users hit; faults are configured
  argument lists (``apply`` / ``revert``), e.g. a cloud CLI or a chaos tool.

Example::

    [resilience]
    topology = "remote"
    entry_url = "https://api.example.com"

    [resilience.regions.us-east]
    url = "https://us-east.example.com"
    dsn = "postgresql://probe@db-us-east.example.com/shop"
    role = "primary"
    weight = 80
    location = "us-east"

    [resilience.gates]
    lag_p99_ms = 100
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from stagewise.project.table import TomlTable

Role = Literal["primary", "replica"]
Topology = Literal["local", "remote"]
Replication = Literal["async", "sync"]
Network = Literal["loopback", "netns"]
RouterKind = Literal["haproxy", "builtin"]
FailoverKind = Literal["patroni", "stagewise"]

#: Probes in the order a scenario runs them.
PROBES: tuple[str, ...] = ("lag", "routing", "conflict", "flow", "failover", "consistency")

#: Fault kinds. ``stop-primary`` stops the database primary (a crash-like
#: immediate stop), ``kill-region`` kills a region's service, ``blackhole``
#: drops every packet to a region's service, ``latency`` delays the
#: replication link (``latency_ms`` +/- ``jitter_ms``), ``reset`` resets the
#: replication link's connections, ``partition`` cuts two regions apart
#: (iptables between namespaces), ``bandwidth`` limits traffic into a region
#: to ``rate_kbit`` (``tc tbf``), ``command`` runs configured argument lists.
FAULTS: tuple[str, ...] = (
    "stop-primary",
    "kill-region",
    "blackhole",
    "latency",
    "reset",
    "partition",
    "bandwidth",
    "command",
    "none",
)

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_LOCATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,62}$")
_DSN = re.compile(r"^postgres(ql)?://\S+$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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


def parse_resilience(file: str, path: str, data: Mapping[str, object]) -> ResilienceConfig:
    """Validate the ``[resilience]`` table (``data`` may be empty: all defaults)."""
    top = TomlTable(file, path, data)
    base = ResilienceConfig()
    topology = top.string("topology", choices=("local", "remote")) or base.topology
    entry_url = top.string("entry_url")
    if entry_url is not None and not _URL.match(entry_url):
        raise top.error("entry_url", f"{entry_url!r} is not an http(s) URL")
    regions = _regions(top, topology) if "regions" in data else dict(base.regions)
    if topology == "remote" and entry_url is None:
        raise top.error("entry_url", "is required with topology = 'remote' (the URL users hit)")
    gates_t = top.table("gates")
    gates = ResilienceGates(**_gate_values(gates_t, base.gates)) if gates_t is not None else base.gates
    if gates_t is not None:
        gates_t.check_unknown()
    faults = _faults(top.table("faults"))
    scenarios = dict(base.scenarios)
    scenarios_t = top.table("scenarios")
    if scenarios_t is not None:
        for name in list(scenarios_t.data):
            scenario_t = scenarios_t.table(name)
            if scenario_t is None:  # pragma: no cover - the key exists, so a value does
                continue
            if not _NAME.match(name):
                raise scenarios_t.error(name, "scenario names are lower-case letters, digits and '-'")
            scenarios[name] = _scenario(scenario_t, name, scenarios.get(name), regions, faults)
    scenario = top.string("scenario") or base.scenario
    if scenario not in scenarios:
        raise top.error("scenario", f"unknown scenario {scenario!r} (scenarios: {', '.join(scenarios)})")
    local = _local(top.table("local"))
    state_dir = top.string("state_dir") or base.state_dir
    if state_dir.startswith("/") or ".." in state_dir.split("/"):
        raise top.error("state_dir", "must be a relative path inside the project")
    token_env = top.string("token_env")
    if token_env is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", token_env):
        raise top.error("token_env", f"{token_env!r} is not an environment variable name")
    kv_table = top.string("kv_table") or base.kv_table
    if not _IDENTIFIER.match(kv_table):
        raise top.error("kv_table", f"{kv_table!r} is not a plain table name (letters, digits, '_')")
    top.check_unknown()
    return ResilienceConfig(
        topology="remote" if topology == "remote" else "local",
        entry_url=entry_url,
        regions=regions,
        gates=gates,
        scenario=scenario,
        scenarios=scenarios,
        faults=faults,
        local=local,
        state_dir=state_dir,
        kv_table=kv_table,
        token_env=token_env,
    )


def _region_name(regions_t: TomlTable, name: str) -> None:
    if not _NAME.match(name):
        raise regions_t.error(name, "region names are lower-case letters, digits and '-' (max 31)")
    if name in ("etcd", "router") or name.startswith(("patroni-", "router-")):
        raise regions_t.error(name, "is the name of a part of the local topology; choose another")


def _regions(top: TomlTable, topology: str) -> dict[str, Region]:
    regions_t = top.table("regions")
    if regions_t is None or not regions_t.data:
        raise top.error("regions", "must name at least two regions")
    regions: dict[str, Region] = {}
    for name in list(regions_t.data):
        region_t = regions_t.table(name)
        if region_t is None:  # pragma: no cover - the key exists, so a value does
            continue
        _region_name(regions_t, name)
        role = region_t.string("role", choices=("primary", "replica")) or "replica"
        url = region_t.string("url")
        if url is not None and not _URL.match(url):
            raise region_t.error("url", f"{url!r} is not an http(s) URL")
        dsn = region_t.string("dsn")
        if dsn is not None and not _DSN.match(dsn):
            raise region_t.error("dsn", "must be a postgresql:// URL")
        if topology == "remote" and (url is None or dsn is None):
            raise region_t.error("url" if url is None else "dsn", "is required with topology = 'remote'")
        weight = region_t.number("weight", 0, 1000)
        location = region_t.string("location") or name
        if not _LOCATION.match(location):
            raise region_t.error(
                "location",
                "must be letters, digits and '.', '_', ':', '/', '-' (max 63; it is a header value)",
            )
        region_t.check_unknown()
        regions[name] = Region(
            name,
            "primary" if role == "primary" else "replica",
            50.0 if weight is None else weight,
            location,
            url,
            dsn,
        )
    primaries = [r.name for r in regions.values() if r.role == "primary"]
    if len(primaries) != 1:
        raise top.error("regions", f"exactly one region must have role = 'primary' (found {len(primaries)})")
    if len(regions) < 2:
        raise top.error("regions", "must name at least two regions")
    if topology == "local" and len(regions) != 2:
        raise top.error("regions", "the local topology builds exactly two regions (a primary and a replica)")
    if sum(r.weight for r in regions.values()) <= 0:
        raise top.error("regions", "the routing weights must not all be 0")
    return regions


def _gate_values(table: TomlTable | None, base: ResilienceGates) -> dict[str, float | None]:
    values: dict[str, float | None] = {k: getattr(base, k) for k in GATE_RANGES}
    if table is None:
        return values
    for name, (low, high) in GATE_RANGES.items():
        raw = table.raw(name)
        if raw is False:
            values[name] = None  # `gate = false` turns it off
            continue
        number = table.number(name, low, high)
        if number is not None:
            values[name] = number
    return values


def _faults(table: TomlTable | None) -> dict[str, CommandFault]:
    faults: dict[str, CommandFault] = {}
    if table is None:
        return faults
    for name in list(table.data):
        fault_t = table.table(name)
        if fault_t is None:  # pragma: no cover - the key exists, so a value does
            continue
        if not _NAME.match(name):
            raise table.error(name, "fault names are lower-case letters, digits and '-'")
        apply = fault_t.argv("apply")
        revert = fault_t.argv("revert")
        if apply is None or revert is None:
            raise fault_t.error(
                "apply" if apply is None else "revert", "is required: every fault is reversible"
            )
        fault_t.check_unknown()
        faults[name] = CommandFault(name, apply, revert)
    return faults


def _scenario(
    table: TomlTable,
    name: str,
    builtin: Scenario | None,
    regions: Mapping[str, Region],
    faults: Mapping[str, CommandFault],
) -> Scenario:
    base = builtin or Scenario(name)
    probes_raw = table.raw("probes")
    probes = base.probes
    if probes_raw is not None:
        if not isinstance(probes_raw, list) or not probes_raw:
            raise table.error("probes", f"must be a non-empty list of {', '.join(PROBES)}")
        for probe in probes_raw:
            if probe not in PROBES:
                raise table.error("probes", f"unknown probe {probe!r} (probes: {', '.join(PROBES)})")
        probes = tuple(p for p in PROBES if p in probes_raw)
    fault = table.string("fault", choices=FAULTS) or base.fault
    target = table.string("target") or base.target
    if target is not None and target not in regions:
        raise table.error("target", f"unknown region {target!r} (regions: {', '.join(regions)})")
    command = table.string("command") or base.command
    if fault == "command":
        if command is None:
            raise table.error("command", "names the [resilience.faults] entry a 'command' fault runs")
        if command not in faults:
            raise table.error("command", f"unknown fault {command!r} (faults: {', '.join(faults) or 'none'})")

    def number(key: str, current: float, low: float, high: float) -> float:
        value = table.number(key, low, high)
        return current if value is None else value

    gates_t = table.table("gates")
    gates: dict[str, float | None] = dict(base.gates)
    if gates_t is not None:
        for key, value in _gate_values(gates_t, ResilienceGates()).items():
            if key in gates_t.data:
                gates[key] = value
        gates_t.check_unknown()
    scenario = Scenario(
        name=name,
        probes=probes,
        fault=fault,
        target=target,
        command=command,
        latency_ms=number("latency_ms", base.latency_ms, 0, 60_000),
        jitter_ms=number("jitter_ms", base.jitter_ms, 0, 60_000),
        rate_kbit=int(number("rate_kbit", base.rate_kbit, 8, 10_000_000)),
        marker_bytes=int(number("marker_bytes", base.marker_bytes, 0, 1_000_000)),
        duration=number("duration", base.duration, 1, 3600),
        fault_at=number("fault_at", base.fault_at, 0, 3600),
        client_deadline=number("client_deadline", base.client_deadline, 0.1, 3600),
        markers=int(number("markers", base.markers, 1, 100_000)),
        requests=int(number("requests", base.requests, 10, 1_000_000)),
        gates=gates,
    )
    if scenario.fault_at >= scenario.duration:
        raise table.error(
            "fault_at", f"must be before the end of the failover loop (duration {scenario.duration:g} s)"
        )
    table.check_unknown()
    return scenario


def _local(table: TomlTable | None) -> LocalTopology:
    base = LocalTopology()
    if table is None:
        return base
    replication = table.string("replication", choices=("async", "sync")) or base.replication
    promote_after = table.number("promote_after", 0, 3600)
    health_check = table.boolean("health_check")
    link_latency = table.number("link_latency_ms", 0, 60_000)
    network = table.string("network", choices=("loopback", "netns")) or base.network
    router = table.string("router", choices=("haproxy", "builtin")) or base.router
    failover = table.string("failover", choices=("patroni", "stagewise")) or base.failover
    service_t = table.table("service")
    service = _service(service_t) if service_t is not None else None
    table.check_unknown()
    return LocalTopology(
        replication="sync" if replication == "sync" else "async",
        promote_after=base.promote_after if promote_after is None else promote_after,
        health_check=base.health_check if health_check is None else health_check,
        link_latency_ms=base.link_latency_ms if link_latency is None else link_latency,
        network="loopback" if network == "loopback" else "netns",
        router="builtin" if router == "builtin" else "haproxy",
        failover="stagewise" if failover == "stagewise" else "patroni",
        service=service,
    )


_PLACEHOLDER = re.compile(r"{([a-z_]+)}")


def _placeholders_known(table: TomlTable, key: str, values: tuple[str, ...]) -> None:
    for value in values:
        for name in _PLACEHOLDER.findall(value):
            if name not in SERVICE_PLACEHOLDERS:
                raise table.error(
                    key, f"unknown placeholder {{{name}}} (known: {', '.join(SERVICE_PLACEHOLDERS)})"
                )


def _service(table: TomlTable) -> RegionServiceSpec:
    command = table.argv("command")
    if command is None:
        raise table.error("command", "is required: the argument list that starts one region's service")
    _placeholders_known(table, "command", command)
    env_raw = table.raw("env") or {}
    if not isinstance(env_raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env_raw.items()
    ):
        raise table.error("env", "must be a table of strings")
    env = {str(k): str(v) for k, v in env_raw.items()}
    for key in env:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise table.error("env", f"{key!r} is not an environment variable name")
    _placeholders_known(table, "env", tuple(env.values()))
    prestart_raw = table.raw("prestart") or []
    if not isinstance(prestart_raw, list) or not all(
        isinstance(step, list) and step and all(isinstance(a, str) for a in step) for step in prestart_raw
    ):
        raise table.error(
            "prestart", 'must be a list of argument lists, e.g. [["{python}", "-m", "app.migrate"]]'
        )
    prestart = tuple(tuple(str(a) for a in step) for step in prestart_raw)
    for step in prestart:
        _placeholders_known(table, "prestart", step)
    timeout = table.seconds("startup_timeout")
    table.check_unknown()
    return RegionServiceSpec(command, env, prestart, 60.0 if timeout is None else timeout)


__all__ = [
    "FAULTS",
    "PROBES",
    "CommandFault",
    "LocalTopology",
    "Region",
    "RegionServiceSpec",
    "ResilienceConfig",
    "ResilienceGates",
    "Scenario",
    "builtin_scenarios",
    "default_regions",
    "parse_resilience",
]
