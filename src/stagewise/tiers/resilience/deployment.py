"""What the probes run against: regions, their URLs and DSNs, the entry URL, and the local parts.

A :class:`Deployment` is built by :func:`~stagewise.tiers.resilience.topology.build_local`
(on this machine) or :func:`remote_deployment` (configured regions, as they are).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from stagewise.errors import MissingError
from stagewise.project.resilience import ResilienceConfig
from stagewise.tiers.resilience.failover import PromotionWatch
from stagewise.tiers.resilience.journal import Journal
from stagewise.tiers.resilience.linkproxy import LinkProxy
from stagewise.tiers.resilience.netns import Netns
from stagewise.tiers.resilience.postgres import Cluster, connect

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


__all__ = ["CHILD_MARKER", "Deployment", "RegionEndpoint", "Sites", "Started", "remote_deployment"]
