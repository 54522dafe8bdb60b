"""Remote regions: the probes against regions given as URLs and DSNs, faults as argument lists.

The "remote" deployment here is a real local topology the test builds itself
(its router configured with the weights the test chooses); the project file
only knows its URLs and DSNs, exactly as a team points the tier at staging.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagewise.project.resilience import LocalTopology, Region, ResilienceConfig
from stagewise.tiers.resilience.journal import Journal
from stagewise.tiers.resilience.postgres import SCHEMA, connect
from stagewise.tiers.resilience.topology import Deployment, build_local, spawn, start_router, wait_healthy
from tests.conftest import ProjectFactory
from tests.helpers import free_port, run_cli
from tests.integration.resilience.conftest import needs_patroni, needs_pg

pytestmark = [
    needs_pg,
    needs_patroni,
    pytest.mark.xdist_group("resilience"),
]  # one topology at a time: the leftovers check is machine-wide


@pytest.fixture
def deployment(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A running two-region topology whose router splits traffic by ``request.param`` weights."""
    us, eu = request.param
    config = ResilienceConfig(
        regions={"us-east": Region("us-east", "primary", us), "eu-west": Region("eu-west", "replica", eu)},
        local=LocalTopology(network="loopback"),  # the regions only need to be reachable
    )
    built = build_local(config, Journal(tmp_path / "fixture-state"), tmp_path / "fixture-state")
    try:
        yield built
    finally:
        built.close()


def remote_project(deployment: Deployment, extra: str = "") -> str:
    regions = "".join(
        f"""
        [resilience.regions.{r.name}]
        url = "{r.url}"
        dsn = "{r.dsn}"
        role = "{r.role}"
        weight = {80 if r.name == "us-east" else 20}
        """
        for r in deployment.regions.values()
    )
    return f"""
        [resilience]
        topology = "remote"
        entry_url = "{deployment.entry_url}"
        scenario = "routing-only"

        [resilience.scenarios.routing-only]
        probes = ["routing", "flow", "consistency"]
        fault = "none"
        requests = 200
        {regions}
        {extra}
    """


@pytest.mark.parametrize("deployment", [(50, 50)], indirect=True)
def test_a_router_configured_80_20_but_serving_50_50_fails_the_weight_gate(
    make_project: ProjectFactory, tmp_path: Path, deployment: Deployment
) -> None:
    root = make_project({"stagewise.toml": remote_project(deployment)})
    done = run_cli(
        "test", "--resilience", "--no-progress", "--reports-dir", str(tmp_path / "r"), cwd=root, timeout=120
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert (
        "routing: traffic off its weights (us-east served 50.0%, weight 80.0%) 30.0 points > 5.0 points"
        in out
    )
    assert "PASS  flow:" in out  # the other probes still ran against the remote regions
    assert "PASS  consistency:" in out


@pytest.mark.parametrize("deployment", [(80, 20)], indirect=True)
def test_a_router_serving_its_weights_passes(
    make_project: ProjectFactory, tmp_path: Path, deployment: Deployment
) -> None:
    root = make_project({"stagewise.toml": remote_project(deployment)})
    done = run_cli(
        "test", "--resilience", "--no-progress", "--reports-dir", str(tmp_path / "r"), cwd=root, timeout=120
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(
        r"PASS  routing: traffic off its weights \(\S+ served \d+\.\d%, weight \d+\.\d%\) 0\.0 points", out
    ), out


@pytest.mark.parametrize("deployment", [(50, 50)], indirect=True)
def test_a_command_fault_is_applied_and_always_reverted(
    make_project: ProjectFactory, tmp_path: Path, deployment: Deployment
) -> None:
    marker = tmp_path / "fault-applied"
    extra = f"""
        [resilience.faults.touch]
        apply = ["touch", "{marker}"]
        revert = ["rm", "-f", "{marker}"]

        [resilience.scenarios.commanded]
        probes = ["failover"]
        fault = "command"
        command = "touch"
        duration = 2
        fault_at = 0.5
    """
    root = make_project({"stagewise.toml": remote_project(deployment, extra)})
    done = run_cli(
        "test",
        "--resilience",
        "--no-progress",
        "--scenario",
        "commanded",
        "--reports-dir",
        str(tmp_path / "r"),
        cwd=root,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "fault touch (touch " in out
    assert not marker.exists()  # reverted after the probe


def test_a_remote_region_that_does_not_answer_is_exit_4(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project(
        {
            "stagewise.toml": """
                [resilience]
                topology = "remote"
                entry_url = "http://127.0.0.1:9"

                [resilience.regions.us-east]
                url = "http://127.0.0.1:9"
                dsn = "postgresql://postgres@127.0.0.1:9/postgres"
                role = "primary"

                [resilience.regions.eu-west]
                url = "http://127.0.0.1:9"
                dsn = "postgresql://postgres@127.0.0.1:9/postgres"
            """
        }
    )
    done = run_cli(
        "test", "--resilience", "--no-progress", "--reports-dir", str(tmp_path / "r"), cwd=root, timeout=60
    )
    out = done.stdout + done.stderr
    assert done.returncode == 4, out
    assert "region us-east (http://127.0.0.1:9) is unreachable" in out


@pytest.mark.parametrize("deployment", [(80, 20)], indirect=True)
def test_a_router_that_ignores_client_locations_fails_the_accuracy_gate(
    make_project: ProjectFactory, tmp_path: Path, deployment: Deployment
) -> None:
    blind = start_router(deployment, True, sys.executable, tmp_path, geo=False)
    deployment.entry_url = blind
    root = make_project({"stagewise.toml": remote_project(deployment)})
    done = run_cli(
        "test", "--resilience", "--no-progress", "--reports-dir", str(tmp_path / "r"), cwd=root, timeout=120
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    match = re.search(
        r"FAIL  routing: geo-routing accuracy \(served by the client's region\) (\d+\.\d)% <= 95\.0%", out
    )
    assert match, out
    assert 30 <= float(match.group(1)) <= 70  # 80/20 round robin against alternating client locations
    assert re.search(r"PASS  routing: traffic off its weights .* 0\.0 points <= 5\.0 points", out), out


@pytest.fixture
def unreplicated_database() -> Iterator[str]:
    """A database on the shared server at 127.0.0.1:5432 with the probe tables and nothing replicated into it."""
    name = f"stagewise_res_{uuid.uuid4().hex[:8]}"
    server = "postgresql://postgres@127.0.0.1:5432/postgres"
    with connect(server) as db:
        db.execute(f"CREATE DATABASE {name}")
    try:
        with connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as db:
            db.execute(SCHEMA)
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with connect(server) as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.postgres
@pytest.mark.parametrize("deployment", [(50, 50)], indirect=True)
def test_a_region_whose_database_is_not_replicated_fails_the_consistency_gate(
    make_project: ProjectFactory, tmp_path: Path, deployment: Deployment, unreplicated_database: str
) -> None:
    deployment.regions["eu-west"].dsn = unreplicated_database
    root = make_project({"stagewise.toml": remote_project(deployment)})
    done = run_cli(
        "test", "--resilience", "--no-progress", "--reports-dir", str(tmp_path / "r"), cwd=root, timeout=120
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert re.search(
        r"FAIL  consistency: regions differ on stagewise_customers: us-east 1 rows md5 [0-9a-f]{8}, eu-west 0 rows md5 \n",
        out,
    ), out
    assert "PASS  flow:" in out  # the services agree (they read the real replica); the databases do not


@pytest.mark.parametrize("deployment", [(50, 50)], indirect=True)
def test_services_without_last_write_wins_fail_the_conflict_probe(
    make_project: ProjectFactory, tmp_path: Path, deployment: Deployment
) -> None:
    """The same databases, but region services that let the last commit win instead of the later write."""
    for region in list(deployment.regions.values()):
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "stagewise.tiers.resilience.region_app",
            "--name",
            region.name,
            "--port",
            str(port),
            "--read-dsn",
            deployment.clusters[region.name].url,
            "--write-dsn",
            deployment.write_dsn,
            "--no-last-write-wins",
        ]
        spawn(deployment, f"{region.name}-no-lww", argv, tmp_path / f"{region.name}-no-lww.log")
        region.url = f"http://127.0.0.1:{port}"
        wait_healthy(region.url, f"{region.name} without last-write-wins")
    extra = '[resilience.scenarios.race]\nprobes = ["conflict"]\nfault = "none"\n'
    root = make_project({"stagewise.toml": remote_project(deployment, extra)})
    done = run_cli(
        "test",
        "--resilience",
        "--no-progress",
        "--scenario",
        "race",
        "--reports-dir",
        str(tmp_path / "r"),
        cwd=root,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    match = re.search(r"FAIL  conflict: (\d+) key\(s\) did not converge to the later write: \S+ holds '", out)
    assert match, out
    assert int(match.group(1)) >= 1
