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

The parts live beside this module: the model (:mod:`.deployment`), the
children's supervisor (:mod:`.supervisor`), the HTTP client (:mod:`.httpclient`),
health waits (:mod:`.health`), the cluster builders (:mod:`.clusters`) and the
region services and router launch (:mod:`.launch`). Their public names are
importable from here too.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stagewise.project.resilience import ResilienceConfig
from stagewise.tiers.resilience.clusters import libpq_url, patroni_pair, patroni_roles, promoted_pair
from stagewise.tiers.resilience.deployment import (
    CHILD_MARKER,
    Deployment,
    RegionEndpoint,
    Sites,
    Started,
    remote_deployment,
)
from stagewise.tiers.resilience.failover import FailoverManager, PromotionWatch
from stagewise.tiers.resilience.health import wait_healthy
from stagewise.tiers.resilience.httpclient import http_json
from stagewise.tiers.resilience.journal import Journal
from stagewise.tiers.resilience.launch import router_kind, start_region_services, start_router
from stagewise.tiers.resilience.netns import Netns
from stagewise.tiers.resilience.postgres import run_as
from stagewise.tiers.resilience.supervisor import kill, restart, spawn


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
            primary, replica = patroni_pair(deployment, config, sites, state_dir / "logs")
        else:
            primary, replica = promoted_pair(deployment, config, sites)
        clusters = {primary_region.name: primary, replica_region.name: replica}
        deployment.clusters = clusters
        deployment.notes.append(
            f"PostgreSQL primary + streaming replica ready in {time.monotonic() - started:.1f} s"
            + (" under Patroni" if local.failover == "patroni" else "")
            + (f" (namespaces on bridge {deployment.netns.bridge})" if deployment.netns else "")
        )
        deployment.write_dsn = libpq_url([primary, replica], "read-write")
        logs = state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        start_region_services(deployment, config, sites, python=python, root=root, logs=logs)
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


__all__ = [
    "CHILD_MARKER",
    "Deployment",
    "RegionEndpoint",
    "Started",
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
