"""The ``[resilience]`` table of the project file: regions, gates, scenarios, faults.

Parsed and validated once into frozen dataclasses; every error is a
:class:`~stagewise.errors.ConfigError` naming the file and the key path
(``resilience.regions.eu.weight: must be a number from 0 to 1000, got -5``), exit 3.
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

from stagewise.plugins.faults import FAULTS as FAULT_REGISTRY
from stagewise.plugins.probes import PROBES as PROBE_REGISTRY
from stagewise.project.resilience_model import (
    FAULTS,
    GATE_RANGES,
    PROBES,
    SERVICE_PLACEHOLDERS,
    CommandFault,
    FailoverKind,
    LocalTopology,
    Network,
    Region,
    RegionServiceSpec,
    Replication,
    ResilienceConfig,
    ResilienceGates,
    Role,
    RouterKind,
    Scenario,
    Topology,
    builtin_scenarios,
    default_regions,
)
from stagewise.project.table import ConfigTable
from stagewise.project.validate import (
    ENV_NAME,
    LOWER_NAME,
    env_name,
    inside_project,
    matching,
    named_tables,
    one_of,
    url,
)

_LOCATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,62}$")
_DSN = re.compile(r"^postgres(ql)?://\S+$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def parse_resilience(file: str, path: str, data: Mapping[str, object]) -> ResilienceConfig:
    """Validate ``data`` as the ``[resilience]`` table at ``path`` of ``file`` (empty: all defaults)."""
    return read_resilience(ConfigTable(file, path, data))


def read_resilience(table: ConfigTable) -> ResilienceConfig:
    """Validate the ``[resilience]`` table (empty: all defaults)."""
    base = ResilienceConfig()
    topology = table.string("topology", choices=("local", "remote")) or base.topology
    entry_url = url(table, "entry_url")
    regions = _regions(table, topology) if "regions" in table.data else dict(base.regions)
    if topology == "remote" and entry_url is None:
        raise table.error("entry_url", "is required with topology = 'remote' (the URL users hit)")
    gates_t = table.table("gates")
    gates = ResilienceGates(**_gate_values(gates_t, base.gates)) if gates_t is not None else base.gates
    if gates_t is not None:
        gates_t.check_unknown()
    faults = _faults(table.section("faults"))
    scenarios = dict(base.scenarios)
    check = matching(LOWER_NAME, "scenario names are lower-case letters, digits and '-'")
    for name, scenario_t in named_tables(table.section("scenarios"), check):
        scenarios[name] = _scenario(scenario_t, name, scenarios.get(name), regions, faults)
    scenario = table.string("scenario") or base.scenario
    if scenario not in scenarios:
        raise table.error("scenario", f"unknown scenario {scenario!r} (scenarios: {', '.join(scenarios)})")
    local = _local(table.table("local"))
    state_dir = table.string("state_dir") or base.state_dir
    if not inside_project(state_dir):
        raise table.error("state_dir", "must be a relative path inside the project")
    token_env = env_name(table, "token_env", noun="an environment variable name")
    kv_table = table.string("kv_table") or base.kv_table
    if not _IDENTIFIER.match(kv_table):
        raise table.error("kv_table", f"{kv_table!r} is not a plain table name (letters, digits, '_')")
    table.check_unknown()
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


def _region_name(name: str) -> str | None:
    if not LOWER_NAME.match(name):
        return "region names are lower-case letters, digits and '-' (max 31)"
    if name in ("etcd", "router") or name.startswith(("patroni-", "router-")):
        return "is the name of a part of the local topology; choose another"
    return None


def _regions(top: ConfigTable, topology: str) -> dict[str, Region]:
    regions_t = top.table("regions")
    if regions_t is None or not regions_t.data:
        raise top.error("regions", "must name at least two regions")
    regions: dict[str, Region] = {}
    for name, region_t in named_tables(regions_t, _region_name):
        role = region_t.string("role", choices=("primary", "replica")) or "replica"
        region_url = url(region_t, "url")
        dsn = region_t.string("dsn")
        if dsn is not None and not _DSN.match(dsn):
            raise region_t.error("dsn", "must be a postgresql:// URL")
        if topology == "remote" and (region_url is None or dsn is None):
            raise region_t.error(
                "url" if region_url is None else "dsn", "is required with topology = 'remote'"
            )
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
            region_url,
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


def _gate_values(table: ConfigTable | None, base: ResilienceGates) -> dict[str, float | None]:
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


def _faults(table: ConfigTable) -> dict[str, CommandFault]:
    faults: dict[str, CommandFault] = {}
    check = matching(LOWER_NAME, "fault names are lower-case letters, digits and '-'")
    for name, fault_t in named_tables(table, check):
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
    table: ConfigTable,
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
            raise table.error("probes", f"must be a non-empty list of {PROBE_REGISTRY.one_of()}")
        for probe in probes_raw:
            if probe not in PROBE_REGISTRY:
                raise table.error("probes", f"unknown probe {probe!r} (probes: {PROBE_REGISTRY.one_of()})")
        probes = tuple(p for p in PROBE_REGISTRY.names() if p in probes_raw)
    fault = one_of(table, "fault", FAULT_REGISTRY) or base.fault
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


def _local(table: ConfigTable | None) -> LocalTopology:
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


def _placeholders_known(table: ConfigTable, key: str, values: tuple[str, ...]) -> None:
    for value in values:
        for name in _PLACEHOLDER.findall(value):
            if name not in SERVICE_PLACEHOLDERS:
                raise table.error(
                    key, f"unknown placeholder {{{name}}} (known: {', '.join(SERVICE_PLACEHOLDERS)})"
                )


def _service(table: ConfigTable) -> RegionServiceSpec:
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
        if not ENV_NAME.match(key):
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
    "GATE_RANGES",
    "PROBES",
    "SERVICE_PLACEHOLDERS",
    "CommandFault",
    "FailoverKind",
    "LocalTopology",
    "Network",
    "Region",
    "RegionServiceSpec",
    "Replication",
    "ResilienceConfig",
    "ResilienceGates",
    "Role",
    "RouterKind",
    "Scenario",
    "Topology",
    "builtin_scenarios",
    "default_regions",
    "parse_resilience",
    "read_resilience",
]
