"""Asynchronous replication loses what the replica had not received; synchronous loses nothing.

Patroni (with etcd) is the failover manager in both. The asynchronous test
cuts the replication link (every connection reset, new ones refused) and
then kills the primary's host while the client loop writes: the primary
keeps acknowledging writes the replica never gets, Patroni promotes the
replica once the old lease runs out, and the failover probe reports those
writes as lost (its real RPO). The synchronous test kills the primary's host
under the same loop with Patroni's synchronous mode and ``remote_apply``:
no write is acknowledged until the replica applied it, so the replica
Patroni promotes holds every acknowledged write. (Had the link been cut
first, Patroni would have dropped the standby from synchronous replication
and, for that very reason, refused to promote it: no loss either, but no
failover.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagewise.project.resilience import LocalTopology, ResilienceConfig, Scenario
from stagewise.tiers.resilience.faults import make_fault
from stagewise.tiers.resilience.journal import Journal
from stagewise.tiers.resilience.postgres import connect
from stagewise.tiers.resilience.probes.base import ProbeResult
from stagewise.tiers.resilience.probes.failover import probe_failover
from stagewise.tiers.resilience.topology import Deployment, build_local
from tests.integration.resilience.conftest import needs_netns, needs_patroni, needs_pg

pytestmark = [
    needs_pg,
    needs_patroni,
    needs_netns,
    pytest.mark.xdist_group("resilience"),
]  # one topology at a time: the leftovers check is machine-wide

# Patroni's lease is 5 s: the replica leads ~5-6 s after the crash; the loop runs on past that.
SCENARIO = Scenario("crash", probes=("failover",), fault="stop-primary", duration=11.0, fault_at=1.5)


@pytest.fixture
def topology(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[ResilienceConfig, Deployment]]:
    config = ResilienceConfig(local=LocalTopology(replication=request.param))
    deployment = build_local(config, Journal(tmp_path / "state"), tmp_path / "state")
    try:
        yield config, deployment
    finally:
        deployment.close()


def crash_primary(config: ResilienceConfig, deployment: Deployment, *, cut_link_first: bool) -> ProbeResult:
    """Kill the primary's host under a write loop (after cutting the replication link, if asked)."""
    for link in deployment.links:
        link.set(reset=cut_link_first)
    fault = make_fault(config, SCENARIO, deployment)
    assert fault is not None
    try:
        return probe_failover(deployment, config.gates, SCENARIO, fault)
    finally:
        for link in deployment.links:
            link.clear()
        fault.revert()


@pytest.mark.parametrize("topology", ["async"], indirect=True)
def test_asynchronous_replication_reports_the_writes_it_lost(
    topology: tuple[ResilienceConfig, Deployment],
) -> None:
    config, deployment = topology
    result = crash_primary(config, deployment, cut_link_first=True)
    figures = result.figures
    assert figures["promoted"] is True  # by Patroni, once the old primary's lease ran out
    assert figures["acknowledged"] > 10
    # Everything acknowledged between the cut and the crash (~1.5 s of writes) is gone.
    assert figures["rpo_rows"] > 5
    assert 1.0 < figures["rpo_s"] <= 2.0
    rpo = next(c for c in result.checks if c.gate == "rpo_s")
    assert not rpo.passed
    match = re.fullmatch(
        r"failover: RPO \((\d+) acknowledged writes lost\) (\d+\.\d\d) s >= 1\.00 s", rpo.message
    )
    assert match, rpo.message
    assert int(match.group(1)) == figures["rpo_rows"]
    assert abs(float(match.group(2)) - figures["rpo_s"]) < 0.01


@pytest.mark.parametrize("topology", ["sync"], indirect=True)
def test_synchronous_remote_apply_loses_no_acknowledged_write(
    topology: tuple[ResilienceConfig, Deployment],
) -> None:
    config, deployment = topology
    with connect(deployment.regions["us-east"].dsn) as db:
        assert db.execute("SHOW synchronous_commit").fetchone()[0] == "remote_apply"
        assert db.execute("SELECT sync_state FROM pg_stat_replication").fetchone()[0] == "sync"
    # Patroni's synchronous mode: the replica it promotes holds every acknowledged write.
    result = crash_primary(config, deployment, cut_link_first=False)
    figures = result.figures
    assert figures["promoted"] is True
    assert figures["acknowledged"] > 10  # writes before the crash and after the promotion
    assert figures["rpo_rows"] == 0
    assert figures["rpo_s"] == 0.0
    assert next(c for c in result.checks if c.gate == "rpo_s").passed
