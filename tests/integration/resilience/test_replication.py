"""Asynchronous replication loses what the replica had not received; synchronous loses nothing.

Both tests cut the replication link (every connection reset, new ones
refused) and then crash the primary while the client loop writes. With
asynchronous replication the primary keeps acknowledging writes the replica
never gets, and the failover probe reports them as lost (its real RPO); with
``synchronous_commit = remote_apply`` no write is acknowledged until the
replica applied it, so nothing acknowledged is lost.
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
from tests.integration.resilience.conftest import needs_pg

pytestmark = [
    needs_pg,
    pytest.mark.xdist_group("resilience"),
]  # one topology at a time: the leftovers check is machine-wide

SCENARIO = Scenario("cut-then-crash", probes=("failover",), fault="stop-primary", duration=5.0, fault_at=1.5)


@pytest.fixture
def topology(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[ResilienceConfig, Deployment]]:
    config = ResilienceConfig(local=LocalTopology(replication=request.param, promote_after=0.5))
    deployment = build_local(config, Journal(tmp_path / "state"), tmp_path / "state")
    try:
        yield config, deployment
    finally:
        deployment.close()


def cut_link_then_crash_primary(config: ResilienceConfig, deployment: Deployment) -> ProbeResult:
    assert deployment.link is not None
    deployment.link.set(reset=True)
    fault = make_fault(config, SCENARIO, deployment)
    assert fault is not None
    try:
        return probe_failover(deployment, config.gates, SCENARIO, fault)
    finally:
        deployment.link.clear()
        fault.revert()


@pytest.mark.parametrize("topology", ["async"], indirect=True)
def test_asynchronous_replication_reports_the_writes_it_lost(
    topology: tuple[ResilienceConfig, Deployment],
) -> None:
    config, deployment = topology
    result = cut_link_then_crash_primary(config, deployment)
    figures = result.figures
    assert figures["promoted"] is True
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
    result = cut_link_then_crash_primary(config, deployment)
    figures = result.figures
    assert figures["promoted"] is True
    assert figures["acknowledged"] > 10  # writes before the cut and after the promotion
    assert figures["rpo_rows"] == 0
    assert figures["rpo_s"] == 0.0
    assert next(c for c in result.checks if c.gate == "rpo_s").passed
