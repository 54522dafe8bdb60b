"""The local topology's two PostgreSQL clusters: promoted by stagewise, or under Patroni.

:func:`promoted_pair` is a primary and a ``pg_basebackup`` replica streaming
through a link proxy (``failover = "stagewise"``); :func:`patroni_pair` is etcd
and a Patroni node per region, each behind a link proxy.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from stagewise.errors import MissingError
from stagewise.project.resilience import ResilienceConfig
from stagewise.tiers.resilience import patroni
from stagewise.tiers.resilience.dberrors import database_errors
from stagewise.tiers.resilience.deployment import Deployment, Sites
from stagewise.tiers.resilience.health import wait_bootstrapping, wait_node
from stagewise.tiers.resilience.journal import ServerEntry
from stagewise.tiers.resilience.linkproxy import LinkProxy
from stagewise.tiers.resilience.postgres import (
    SCHEMA,
    Cluster,
    connect,
    create_primary,
    create_replica,
    free_port,
    make_synchronous,
    pg_bin,
    pg_command,
    wait_streaming,
    wait_synchronous,
)
from stagewise.tiers.resilience.supervisor import spawn


def promoted_pair(
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


def patroni_pair(
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
        stop = ["pg_ctl", "stop", "-D", str(cluster.datadir), "-m", "immediate", "-w", "-t", "20"]
        deployment.journal.add(
            ServerEntry(
                f"PostgreSQL {region.name} (Patroni) on port {cluster.port}",
                argv=pg_command(stop, user),
                pid_file=str(cluster.datadir / "postmaster.pid"),
            )
        )
        argv = [*prefixes[region.name], *_as_user([patroni_bin, str(config_path)], user)]
        spawn(deployment, f"patroni-{region.name}", argv, logs / f"patroni-{region.name}.log", cwd=directory)
        api = f"http://{cluster.host}:{node.api_port}"
        deployment.patroni_api[region.name] = api
        clusters[region.name] = cluster
        if region is primary_region:
            # The replica's node may start as soon as this one bootstraps: it waits for the
            # leader by itself, and its own start-up overlaps the leader's initdb.
            wait_bootstrapping(deployment, region.name, (link_host, etcd_port), scope)
    primary, replica = clusters[primary_region.name], clusters[replica_region.name]
    wait_node(deployment, primary_region.name, ("master", "primary"))
    with (
        database_errors(f"cannot create the probe tables on {primary.name}"),
        connect(primary.url, timeout=5) as db,
    ):
        db.execute(SCHEMA)
    wait_node(deployment, replica_region.name, ("replica",))
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


def patroni_roles(deployment: Deployment) -> dict[str, str]:
    """Each region's role as Patroni reports it now (``primary``/``replica``; ``down`` when silent)."""
    roles = {}
    for region, api in deployment.patroni_api.items():
        state = patroni.member_state(api)
        role = str(state.get("role")) if state else "down"
        roles[region] = "primary" if role in ("master", "primary") else role
    return roles


def libpq_url(servers: Sequence[Cluster], attrs: str) -> str:
    """A multi-host URL that both libpq (psycopg) and SQLAlchemy read: hosts and ports as lists."""
    hosts = ",".join(c.host for c in servers)
    ports = ",".join(str(c.port) for c in servers)
    return (
        f"postgresql://postgres@/postgres?host={hosts}&port={ports}"
        f"&target_session_attrs={attrs}&connect_timeout=1"
    )


__all__ = ["libpq_url", "patroni_pair", "patroni_roles", "promoted_pair"]
