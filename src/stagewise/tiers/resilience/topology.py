"""The deployment the probes run against: the local topology built here, or remote regions.

A :class:`Deployment` is what every probe reads: each region's service URL,
database DSN, role, weight and location, and the entry URL (the router).
:func:`build_local` builds one on this machine, every piece journalled:

    us-east                                   eu-west
    region service :A ── reads ── primary     region service :B ── reads ── replica
                      \\                         |   ^ streaming replication
                       writes (read-write DSN)  link proxies (latency, jitter, reset)
    Patroni beside each database, etcd holding the leader lease (the failover manager)
    router :R (HAProxy, or the builtin one: weights, X-Client-Region, health checks)

Replication crosses the link proxies whichever node leads: each Patroni
node's ``connect_address`` is the proxy in front of it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from stagewise.errors import MissingError
from stagewise.processes import start_group, stop_group
from stagewise.project.resilience import ResilienceConfig
from stagewise.tiers.resilience import patroni
from stagewise.tiers.resilience.failover import FailoverManager, PromotionWatch
from stagewise.tiers.resilience.haproxy import (
    Server,
    check_config,
    fetch_states,
    haproxy_binary,
    render_config,
)
from stagewise.tiers.resilience.journal import Journal, ProcessEntry, process_start_time
from stagewise.tiers.resilience.linkproxy import LinkProxy
from stagewise.tiers.resilience.netns import Netns
from stagewise.tiers.resilience.postgres import (
    SCHEMA,
    Cluster,
    connect,
    create_primary,
    create_replica,
    free_port,
    make_synchronous,
    pg_bin,
    run_as,
    wait_streaming,
    wait_synchronous,
)

#: Set in the environment of every process the local topology starts.
CHILD_MARKER = "STAGEWISE_RESILIENCE_CHILD"


@dataclass
class RegionEndpoint:
    """A region as the probes see it at run time."""

    name: str
    role: str
    weight: float
    location: str
    url: str
    dsn: str


@dataclass
class Started:
    """A child process the run started (a region service or the router)."""

    name: str
    argv: list[str]
    log: Path
    entry: int
    process: subprocess.Popen[bytes] | None = None
    cwd: Path | None = None
    env: dict[str, str] | None = None


@dataclass
class Deployment:
    """Regions + entry URL, and for the local topology the parts faults act on."""

    regions: dict[str, RegionEndpoint]
    entry_url: str
    journal: Journal
    local: bool = False
    clusters: dict[str, Cluster] = field(default_factory=dict)
    services: dict[str, Started] = field(default_factory=dict)
    links: list[LinkProxy] = field(default_factory=list)
    failover: PromotionWatch | None = None
    patroni_api: dict[str, str] = field(default_factory=dict)  # region -> its Patroni REST API
    write_headers: dict[str, str] = field(default_factory=dict)  # sent with every write (the token)
    kv_table: str = "stagewise_kv"  # where the service keeps PUT /kv (the RPO check reads it)
    write_dsn: str = ""
    state_dir: Path | None = None
    netns: Netns | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def primary_name(self) -> str:
        return next(r.name for r in self.regions.values() if r.role == "primary")

    def writable_dsn(self) -> str | None:
        """The DSN of whichever region's database accepts writes now (after a failover, the new one)."""
        for region in self.regions.values():
            with contextlib.suppress(Exception), connect(region.dsn, timeout=1) as db:
                if not db.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return region.dsn
        return None

    def close(self) -> None:
        """Stop everything this deployment started and undo the journal."""
        if self.failover is not None:
            self.failover.stop()
        for link in self.links:
            link.stop()
        self.journal.undo_all()
        for started in self.services.values():
            if started.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    started.process.wait(5)  # reap it: the journal killed it by PID


@dataclass(frozen=True)
class Sites:
    """Where the local topology's parts run: each region's address and namespace prefix, the host side."""

    base: Path  # the clusters' directory
    hosts: dict[str, str]
    prefixes: dict[str, tuple[str, ...]]
    link_host: str  # where the link proxies (and etcd) listen: reachable from every region
    user: str | None  # the user PostgreSQL runs as


def remote_deployment(config: ResilienceConfig, journal: Journal) -> Deployment:
    """The configured remote regions, as they are (nothing is started)."""
    regions = {
        r.name: RegionEndpoint(r.name, r.role, r.weight, r.where, str(r.url), str(r.dsn))
        for r in config.regions.values()
    }
    deployment = Deployment(regions, str(config.entry_url), journal, kv_table=config.kv_table)
    if config.token_env is not None:
        token = os.environ.get(config.token_env)
        if not token:
            raise MissingError(
                f"resilience.token_env names {config.token_env}, which is not set: "
                "the probes' writes need the regions' bearer token"
            )
        deployment.write_headers = {"Authorization": f"Bearer {token}"}
    return deployment


def spawn(
    deployment: Deployment,
    name: str,
    argv: list[str],
    log: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Started:
    """Start a child in its own session (Ctrl+C reaches only us), journalled before it exists.

    ``cwd`` matters for a child that drops to another user: it must be able
    to enter its working directory.
    """
    entry = deployment.journal.add(ProcessEntry(f"{name} process"))
    with log.open("ab") as out:
        process, _ref = start_group(
            argv,
            stdout=out,
            cwd=cwd,
            # The marker lets a check find every child of a run, whatever its command line says.
            env={**os.environ, CHILD_MARKER: "1", **(env or {})},
        )
    deployment.journal.update(entry, pid=process.pid, start=process_start_time(process.pid))
    started = Started(name, argv, log, entry, process, cwd, env)
    deployment.services[name] = started
    return started


def restart(deployment: Deployment, name: str) -> Started:
    """Start a killed child again with the same arguments (a fault's revert)."""
    old = deployment.services[name]
    return spawn(deployment, name, old.argv, old.log, cwd=old.cwd, env=old.env)


def kill(deployment: Deployment, name: str) -> None:
    """SIGKILL a child: what a region whose host dies looks like to everyone else."""
    started = deployment.services[name]
    if started.process is not None:
        stop_group(started.process, first=())  # no grace: SIGKILL at once
        started.process.wait(5)
    deployment.journal.undo(started.entry)


def http_json(
    method: str,
    url: str,
    body: object | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 2.0,
) -> tuple[int, dict[str, object], dict[str, str]]:
    """One HTTP request with a JSON body; (status, JSON answer, headers). Raises OSError when unreachable."""
    parts = urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, parts.path or "/", body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"text": raw[:200].decode(errors="replace")}
        return response.status, payload if isinstance(payload, dict) else {}, dict(response.getheaders())
    except http.client.HTTPException as exc:
        raise OSError(str(exc)) from exc
    finally:
        connection.close()


def wait_healthy(url: str, what: str, timeout: float = 20.0) -> None:
    """Wait for ``url/health`` to answer 200; exit 4 naming ``what`` if it never does."""
    deadline = time.monotonic() + timeout
    problem = "no answer"
    while time.monotonic() < deadline:
        try:
            status, payload, _ = http_json("GET", url.rstrip("/") + "/health", timeout=1)
            if status == 200:
                return
            problem = f"HTTP {status} {payload.get('error', '')}".strip()
        except OSError as exc:
            problem = str(exc) or type(exc).__name__
        time.sleep(0.1)
    raise MissingError(f"{what} at {url} is not healthy after {timeout:g} s: {problem}")


def build_local(
    config: ResilienceConfig,
    journal: Journal,
    state_dir: Path,
    python: str = sys.executable,
    on_note: Callable[[str], None] = lambda _line: None,
    *,
    root: Path | None = None,
) -> Deployment:
    """Build the two-region topology on this machine; undo everything on failure.

    Each region runs the project's own service when ``[resilience.local.service]``
    says how (from ``root``, the project directory), else stagewise's region
    service (:mod:`~stagewise.tiers.resilience.region_app`).

    With ``[resilience.local] network = "netns"`` each region's database and
    service run in its own network namespace on a bridge (see
    :mod:`~stagewise.tiers.resilience.netns`); otherwise all on 127.0.0.1.
    Raises :class:`~stagewise.errors.MissingError` (exit 4) when PostgreSQL's
    server binaries, psycopg, root or ``ip``/``iptables``/``tc`` are missing or
    a part does not come up.
    """
    local = config.local
    primary_region = config.primary
    replica_region = next(r for r in config.regions.values() if r.role != "primary")
    user = run_as()
    deployment = Deployment({}, "", journal, local=True, state_dir=state_dir, kv_table=config.kv_table)
    # One run's logs: a restarted part appends to its own, an earlier run's are gone.
    shutil.rmtree(state_dir / "logs", ignore_errors=True)
    try:
        started = time.monotonic()
        hosts = {primary_region.name: "127.0.0.1", replica_region.name: "127.0.0.1"}
        prefixes: dict[str, tuple[str, ...]] = {primary_region.name: (), replica_region.name: ()}
        link_host = "127.0.0.1"
        if local.network == "netns":
            network = Netns(journal)
            deployment.netns = network
            network.build([primary_region.name, replica_region.name])
            hosts = dict(network.addresses)
            prefixes = {name: tuple(network.prefix(name)) for name in hosts}
            link_host = network.host_address
        base = Path(tempfile.mkdtemp(prefix="stagewise-resilience-"))
        journal.record("path", f"cluster directory {base}", path=str(base))
        os.chmod(base, 0o755)  # noqa: S103 - the clusters run as 'postgres' and must reach their directories
        sites = Sites(base, hosts, prefixes, link_host, user)
        if local.failover == "patroni":
            primary, replica = _patroni_pair(deployment, config, sites, state_dir / "logs")
        else:
            primary, replica = _promoted_pair(deployment, config, sites)
        clusters = {primary_region.name: primary, replica_region.name: replica}
        deployment.clusters = clusters
        deployment.notes.append(
            f"PostgreSQL primary + streaming replica ready in {time.monotonic() - started:.1f} s"
            + (" under Patroni" if local.failover == "patroni" else "")
            + (f" (namespaces on bridge {deployment.netns.bridge})" if deployment.netns else "")
        )
        deployment.write_dsn = _libpq_url([primary, replica], "read-write")
        logs = state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        _start_region_services(deployment, config, sites, python=python, root=root, logs=logs)
        service = config.local.service
        for endpoint in deployment.regions.values():
            wait_healthy(
                endpoint.url,
                f"region {endpoint.name}'s service",
                timeout=service.startup_timeout if service is not None else 20.0,
            )
        deployment.entry_url = start_router(deployment, local.health_check, python, logs, router=local.router)
        wait_healthy(deployment.entry_url, "the router")
        if local.failover == "patroni":
            deployment.failover = PromotionWatch(replica.url).start()
        else:
            deployment.failover = FailoverManager(primary.url, replica.url, local.promote_after).start()
        on_note(
            f"resilience: local topology up in {time.monotonic() - started:.1f} s: "
            + ", ".join(f"{r.name} ({r.role}) {r.url}" for r in deployment.regions.values())
            + f"; router {deployment.entry_url} ({router_kind(deployment)})"
        )
    except BaseException:
        deployment.close()
        raise
    return deployment


def _promoted_pair(
    deployment: Deployment,
    config: ResilienceConfig,
    sites: Sites,
) -> tuple[Cluster, Cluster]:
    """Primary + pg_basebackup replica streaming through one link proxy (``failover = "stagewise"``)."""
    base, hosts, prefixes, link_host, user = (
        sites.base,
        sites.hosts,
        sites.prefixes,
        sites.link_host,
        sites.user,
    )
    primary_region = config.primary
    replica_region = next(r for r in config.regions.values() if r.role != "primary")
    primary = create_primary(
        base / "pg",
        deployment.journal,
        user,
        host=hosts[primary_region.name],
        prefix=prefixes[primary_region.name],
    )
    link = LinkProxy(primary.port, primary.host, link_host).start()
    link.set(latency_ms=config.local.link_latency_ms)
    deployment.links.append(link)
    replica = create_replica(
        base / "pg",
        primary,
        deployment.journal,
        user,
        upstream=(link_host, link.port),
        name=replica_region.name,
        host=hosts[replica_region.name],
        prefix=prefixes[replica_region.name],
    )
    if config.local.replication == "sync":
        make_synchronous(primary, replica_region.name)
    return primary, replica


def _patroni_pair(
    deployment: Deployment,
    config: ResilienceConfig,
    sites: Sites,
    logs: Path,
) -> tuple[Cluster, Cluster]:
    """etcd, then a Patroni node per region: the primary region's leads, the other streams from it.

    Each node's ``connect_address`` is a link proxy in front of it, so the
    replication (and the ``pg_basebackup`` that seeds the replica) crosses
    the link whichever node leads.
    """
    base, hosts, prefixes, link_host, user = (
        sites.base,
        sites.hosts,
        sites.prefixes,
        sites.link_host,
        sites.user,
    )
    patroni_bin, etcd_bin = patroni.binaries()
    logs.mkdir(parents=True, exist_ok=True)
    if config.local.promote_after < patroni.MIN_TTL_S:
        deployment.notes.append(
            f"Patroni's leader lease is at least {patroni.MIN_TTL_S} s: "
            f"promote_after = {config.local.promote_after:g} runs as {patroni.MIN_TTL_S} s"
        )
    primary_region = config.primary
    replica_region = next(r for r in config.regions.values() if r.role != "primary")
    etcd_port = free_port()
    spawn(
        deployment,
        "etcd",
        patroni.etcd_argv(etcd_bin, _etcd_dir(deployment, base), link_host, etcd_port, free_port()),
        logs / "etcd.log",
    )
    scope = f"stagewise-{os.getpid()}-{int(time.time())}"
    trusted = sorted({"127.0.0.1/32", *(h.rsplit(".", 1)[0] + ".0/24" for h in hosts.values())})
    clusters: dict[str, Cluster] = {}
    for region in (primary_region, replica_region):
        directory = base / "pg" / region.name
        directory.mkdir(parents=True, exist_ok=True)
        if user is not None:
            shutil.chown(directory, user, user)
            shutil.chown(directory.parent, user, user)
        directory.chmod(0o700)
        cluster = Cluster(
            region.name, directory / "data", free_port(), user, hosts[region.name], prefixes[region.name]
        )
        link = LinkProxy(cluster.port, cluster.host, link_host).start()
        link.set(latency_ms=config.local.link_latency_ms)
        deployment.links.append(link)
        node = patroni.NodeSpec(
            region.name, cluster.host, cluster.port, (link_host, link.port), free_port(), directory
        )
        settings = patroni.node_config(
            node,
            scope=scope,
            etcd=(link_host, etcd_port),
            bin_dir=pg_bin(),
            trusted=trusted,
            promote_after=config.local.promote_after,
            synchronous=config.local.replication == "sync",
        )
        config_path = directory / "patroni.json"
        patroni.write_config(config_path, settings)
        if user is not None:
            shutil.chown(config_path, user, user)
        # Recorded before the node starts, so it is undone after the node is killed (undo runs newest first).
        deployment.journal.record(
            "pg",
            f"PostgreSQL {region.name} (Patroni) on port {cluster.port}",
            datadir=str(cluster.datadir),
            user=user,
        )
        argv = [*prefixes[region.name], *_as_user([patroni_bin, str(config_path)], user)]
        spawn(deployment, f"patroni-{region.name}", argv, logs / f"patroni-{region.name}.log", cwd=directory)
        api = f"http://{cluster.host}:{node.api_port}"
        deployment.patroni_api[region.name] = api
        clusters[region.name] = cluster
        if region is primary_region:
            # The replica's node may start as soon as this one bootstraps: it waits for the
            # leader by itself, and its own start-up overlaps the leader's initdb.
            _wait_bootstrapping(deployment, region.name, (link_host, etcd_port), scope)
    primary, replica = clusters[primary_region.name], clusters[replica_region.name]
    _wait_node(deployment, primary_region.name, ("master", "primary"))
    with connect(primary.url, timeout=5) as db:
        db.execute(SCHEMA)
    _wait_node(deployment, replica_region.name, ("replica",))
    wait_streaming(primary, replica.name, timeout=30)
    if config.local.replication == "sync":
        wait_synchronous(primary, replica.name, timeout=30)
    return primary, replica


def _etcd_dir(deployment: Deployment, base: Path) -> Path:
    """etcd's data directory: in memory (/dev/shm) when there is one, journalled before it exists.

    etcd fsyncs every lease renewal; on a disk busy with other work a slow fsync
    could cost the leader its 5 s lease and plant a failover nobody asked for.
    """
    shm = Path("/dev/shm")  # noqa: S108 - a fresh random name, created 0700, removed by the journal
    if not shm.is_dir():
        return base / "etcd"
    directory = shm / f"stagewise-resilience-etcd-{secrets.token_hex(6)}"
    deployment.journal.record("path", f"etcd data directory {directory}", path=str(directory))
    directory.mkdir(mode=0o700)
    return directory


def _as_user(argv: list[str], user: str | None) -> list[str]:
    """``argv`` run as ``user`` (root drops to 'postgres': PostgreSQL refuses to run as root)."""
    if user is None:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise MissingError("running Patroni as root needs runuser (util-linux) to drop to 'postgres'")
    return [runuser, "-u", user, "--", *argv]


def _wait_bootstrapping(deployment: Deployment, region: str, etcd: tuple[str, int], scope: str) -> None:
    """Wait until ``region``'s Patroni holds the initialize key; exit 4 with its log if it dies first."""
    started = deployment.services[f"patroni-{region}"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if patroni.initialized(etcd, scope):
            return
        if started.process is not None and started.process.poll() is not None:
            break
        time.sleep(0.05)
    tail = started.log.read_text(encoding="utf-8", errors="replace")[-500:].strip()
    raise MissingError(f"Patroni node {region} did not start bootstrapping the cluster; its log ends: {tail}")


def _wait_node(deployment: Deployment, region: str, roles: tuple[str, ...]) -> None:
    """Wait for a Patroni node's role; exit 4 with the tail of its log when it dies or never gets there."""
    started = deployment.services[f"patroni-{region}"]
    try:
        patroni.wait_role(deployment.patroni_api[region], region, roles)
    except MissingError as exc:
        tail = started.log.read_text(encoding="utf-8", errors="replace")[-500:].strip()
        raise MissingError(f"{exc}; its log ({started.log}) ends: {tail}") from exc


def patroni_roles(deployment: Deployment) -> dict[str, str]:
    """Each region's role as Patroni reports it now (``primary``/``replica``; ``down`` when silent)."""
    roles = {}
    for region, api in deployment.patroni_api.items():
        state = patroni.member_state(api)
        role = str(state.get("role")) if state else "down"
        roles[region] = "primary" if role in ("master", "primary") else role
    return roles


def _libpq_url(servers: Sequence[Cluster], attrs: str) -> str:
    """A multi-host URL that both libpq (psycopg) and SQLAlchemy read: hosts and ports as lists."""
    hosts = ",".join(c.host for c in servers)
    ports = ",".join(str(c.port) for c in servers)
    return (
        f"postgresql://postgres@/postgres?host={hosts}&port={ports}"
        f"&target_session_attrs={attrs}&connect_timeout=1"
    )


def _fill(value: str, values: dict[str, str]) -> str:
    """``value`` with every ``{name}`` of ``values`` replaced (nothing else is interpreted)."""
    for name, replacement in values.items():
        value = value.replace("{" + name + "}", replacement)
    return value


def _prestart(
    deployment: Deployment, argv: list[str], name: str, *, root: Path | None, env: dict[str, str], logs: Path
) -> None:
    """Run one prestart step as a journalled child (Ctrl+C or a crash leaves nothing running)."""
    log = logs / f"{name}.log"
    try:
        started = spawn(deployment, name, argv, log, cwd=root, env=env)
    except OSError as exc:
        raise MissingError(f"region service prestart {' '.join(argv)} failed: {exc}") from exc
    assert started.process is not None  # noqa: S101 - spawn always starts one
    try:
        code = started.process.wait(300)
    except subprocess.TimeoutExpired as exc:
        raise MissingError(
            f"region service prestart {' '.join(argv)} did not finish in 300 s (log: {log})"
        ) from exc
    finally:
        deployment.journal.undo(started.entry)  # kills it if it still runs
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or [""]
        raise MissingError(f"region service prestart {' '.join(argv)} exited {code}: {tail[0][:300]}")


def _start_region_services(
    deployment: Deployment,
    config: ResilienceConfig,
    sites: Sites,
    *,
    python: str,
    root: Path | None,
    logs: Path,
) -> None:
    """One service per region: the project's own (``[resilience.local.service]``) or stagewise's."""
    spec = config.local.service
    names = list(deployment.clusters)
    token = secrets.token_urlsafe(24)
    deployment.write_headers = {"Authorization": f"Bearer {token}"}
    ports = {name: free_port() for name in names}

    def values(region: str) -> dict[str, str]:
        own = deployment.clusters[region]
        others = [deployment.clusters[n] for n in names if n != region]
        return {
            "python": python,
            "root": str(root or Path.cwd()),
            "region": region,
            "host": sites.hosts[region],
            "port": str(ports[region]),
            "read_url": _libpq_url([own, *others], "any"),
            "write_url": _libpq_url([deployment.clusters[n] for n in names], "read-write"),
            "token": token,
        }

    if spec is not None:
        first = values(config.primary.name)
        prestart_env = {k: _fill(v, first) for k, v in spec.env.items()}
        for index, step in enumerate(spec.prestart):
            argv = [_fill(a, first) for a in step]
            _prestart(deployment, argv, f"prestart-{index}", root=root, env=prestart_env, logs=logs)
    for region in config.regions.values():
        filled = values(region.name)
        env: dict[str, str] | None = None
        if spec is None:
            argv = [
                python,
                "-m",
                "stagewise.tiers.resilience.region_app",
                "--name",
                region.name,
                "--host",
                filled["host"],
                "--port",
                filled["port"],
                "--read-dsn",
                filled["read_url"],
                "--write-dsn",
                filled["write_url"],
            ]
        else:
            argv = [_fill(a, filled) for a in spec.command]
            env = {k: _fill(v, filled) for k, v in spec.env.items()}
        spawn(
            deployment,
            region.name,
            [*sites.prefixes[region.name], *argv],
            logs / f"region-{region.name}.log",
            cwd=root if spec is not None else None,
            env=env,
        )
        deployment.regions[region.name] = RegionEndpoint(
            region.name,
            region.role,
            region.weight,
            region.where,
            f"http://{filled['host']}:{filled['port']}",
            deployment.clusters[region.name].url,
        )


def start_router(
    deployment: Deployment,
    health_check: bool,
    python: str,
    logs: Path,
    *,
    weights: dict[str, float] | None = None,
    geo: bool = True,
    router: str = "haproxy",
) -> str:
    """Start the router in front of the deployment's regions; returns its URL.

    ``router = "haproxy"`` runs HAProxy (see
    :mod:`~stagewise.tiers.resilience.haproxy`) and waits until it sees every
    region up; when ``haproxy`` is not installed, stagewise's builtin router
    (:mod:`~stagewise.tiers.resilience.router`) stands in, with a note saying
    so. ``weights`` overrides the regions' own and ``geo=False`` makes it
    ignore client locations: both plant a misconfigured router for the
    routing gates.
    """
    port = free_port()
    backends = [
        {
            "name": r.name,
            "url": r.url,
            "weight": (weights or {}).get(r.name, r.weight),
            "location": r.location,
        }
        for r in deployment.regions.values()
    ]
    name = "router" if "router" not in deployment.services else f"router-{port}"
    binary = haproxy_binary() if router == "haproxy" else None
    if router == "haproxy" and binary is None:
        deployment.notes.append(
            "router: haproxy is not installed (apt-get install haproxy); "
            "using stagewise's builtin router instead"
        )
    if binary is None:
        router_config = json.dumps({"backends": backends, "health_check": health_check, "geo": geo})
        argv = [
            python,
            "-m",
            "stagewise.tiers.resilience.router",
            "--port",
            str(port),
            "--config",
            router_config,
        ]
        spawn(deployment, name, argv, logs / f"{name}.log")
        return f"http://127.0.0.1:{port}"
    servers = [
        Server(r.name, r.url, (weights or {}).get(r.name, r.weight), r.location)
        for r in deployment.regions.values()
    ]
    # The name carries "stagewise-resilience-" so a leftover haproxy is recognisable as ours.
    config_path = (deployment.state_dir or logs) / f"stagewise-resilience-{name}.cfg"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(render_config(port, servers, health_check=health_check, geo=geo), encoding="utf-8")
    problem = check_config(binary, str(config_path))
    if problem is not None:
        raise MissingError(f"haproxy rejected the router configuration {config_path}: {problem}")
    started = spawn(deployment, name, [binary, "-db", "-f", str(config_path)], logs / f"{name}.log")
    url = f"http://127.0.0.1:{port}"
    _wait_haproxy(started, url, [s.name for s in servers])
    return url


def router_kind(deployment: Deployment) -> str:
    """Which router the deployment started: ``haproxy`` or ``builtin`` (``none`` for remote regions)."""
    started = deployment.services.get("router")
    if started is None:
        return "none"
    return "haproxy" if Path(started.argv[0]).name == "haproxy" else "builtin"


def _wait_haproxy(started: Started, url: str, regions: list[str], timeout: float = 20.0) -> None:
    """Wait until HAProxy answers and counts every region up; exit 4 with its log if it never does."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        if started.process is not None and started.process.poll() is not None:
            tail = started.log.read_text(encoding="utf-8", errors="replace")[-600:].strip()
            raise MissingError(f"haproxy exited with code {started.process.returncode}: {tail}")
        with contextlib.suppress(OSError):
            states = fetch_states(url)
            if states and all(states.get(r) in ("UP", "no check") for r in regions):
                return
        time.sleep(0.05)
    raise MissingError(
        f"haproxy at {url} does not see every region up after {timeout:g} s: "
        + (", ".join(f"{k} {v}" for k, v in states.items()) or "no answer")
        + f" (log: {started.log})"
    )


__all__ = [
    "CHILD_MARKER",
    "Deployment",
    "RegionEndpoint",
    "build_local",
    "http_json",
    "kill",
    "patroni_roles",
    "remote_deployment",
    "restart",
    "router_kind",
    "spawn",
    "start_router",
    "wait_healthy",
]
