"""Faults are always reverted: after Ctrl+C at once, after a crash on the next start.

The autouse fixture fails any test here that leaves a process, a cluster, a
cluster directory or an iptables rule behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stagewise.tiers.resilience.haproxy import haproxy_binary
from tests.conftest import ProjectFactory
from tests.helpers import cli_env, run_cli
from tests.integration.resilience.conftest import (
    IS_ROOT,
    leftovers,
    needs_iptables,
    needs_netns,
    needs_patroni,
    needs_pg,
)

pytestmark = [
    needs_pg,
    needs_patroni,
    needs_netns,
    pytest.mark.xdist_group("resilience"),
]  # one topology at a time: the leftovers check is machine-wide


def start_cli(root: Path, tmp_path: Path, scenario: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stagewise",
            "test",
            "--resilience",
            "--no-progress",
            "--scenario",
            scenario,
            "--reports-dir",
            str(tmp_path / "reports"),
        ],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(process: subprocess.Popen[str], text: str, timeout: float = 60) -> str:
    """The CLI's output up to the first line containing ``text``."""
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"never saw {text!r}:\n{''.join(seen)}")


def test_ctrl_c_during_a_failover_reverts_the_fault_and_stops_everything(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {"stagewise.toml": "[resilience.scenarios.primary-down]\nduration = 20\nfault_at = 1\n"}
    )
    process = start_cli(root, tmp_path, "primary-down")
    read_until(process, "probe failover")
    time.sleep(2.5)  # the primary is down now, and the replica promoted
    assert leftovers(), "the topology should be up while the run is"
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130, out
    assert "interrupted" in out
    assert not list((root / ".stagewise" / "resilience").glob("journal-*.json"))


def test_a_crashed_run_is_reverted_from_the_journal_by_the_next_start(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {"stagewise.toml": "[resilience.scenarios.primary-down]\nduration = 20\nfault_at = 1\n"}
    )
    process = start_cli(root, tmp_path, "primary-down")
    read_until(process, "probe failover")
    time.sleep(1.5)
    process.kill()  # SIGKILL: no finally block runs, only the journal remains
    process.communicate(timeout=30)
    left = leftovers()
    assert any("region_app" in item for item in left), left
    assert any("postgres" in item for item in left), left
    if haproxy_binary() is not None:
        assert any("haproxy" in item for item in left), left  # the router, removed by `regions down` below
    status = run_cli("regions", "status", cwd=root, timeout=30)
    assert "may still exist" in status.stdout, status.stdout + status.stderr
    done = run_cli("test", "--resilience", "--no-progress", "--scenario", "nope", cwd=root, timeout=30)
    assert done.returncode == 2  # a usage error stops before anything is touched
    assert leftovers(), "a usage error must not touch the journal"
    down = run_cli("regions", "down", cwd=root, timeout=60)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "reverting" in down.stderr
    assert "reverted" in down.stdout


@needs_iptables
def test_a_crash_during_a_blackhole_leaves_a_rule_the_next_run_removes(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    assert IS_ROOT
    root = make_project(
        {
            "stagewise.toml": """
                [resilience.scenarios.blackhole]
                requests = 20
                gates = { health_reroute_s = 3 }

                [resilience.scenarios.quick]
                probes = ["flow"]
                fault = "none"
            """
        }
    )
    process = start_cli(root, tmp_path, "blackhole")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("iptables" in item for item in leftovers()):
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert any("iptables rule" in item for item in leftovers())
    done = run_cli("test", "--resilience", "--no-progress", "--scenario", "quick", cwd=root, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reverting" in done.stdout


def test_regions_up_serves_the_topology_until_ctrl_c_and_then_removes_it(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    import json

    from stagewise.tiers.resilience.topology import http_json

    root = make_project({"stagewise.toml": "[project]\nname = 'up'\n"})
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "regions", "up", "--json"],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    while not lines or lines[-1] != "}\n":
        line = process.stdout.readline()
        assert line, process.communicate(timeout=30)
        lines.append(line)
    shown = json.loads("".join(lines))
    status, payload, _ = http_json("PUT", f"{shown['entry_url']}/kv/hello", {"value": "world", "ts": 1.0})
    assert (status, payload["winner"]) == (200, True)
    assert set(shown["regions"]) == {"us-east", "eu-west"}
    status_cmd = run_cli("regions", "status", cwd=root, timeout=30)
    assert f"running now (not touched by `regions down`): pid {process.pid}" in status_cmd.stdout
    assert (
        run_cli("regions", "down", cwd=root, timeout=30).stdout.strip() == "nothing to revert"
    )  # a live run
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "no resilience leftovers" in run_cli("regions", "status", cwd=root, timeout=30).stdout


@needs_netns
def test_ctrl_c_with_regions_in_namespaces_removes_namespaces_bridge_rules_and_qdisc(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {
            "stagewise.toml": """
                [resilience.local]
                network = "netns"

                [resilience.scenarios.slow-link]
                probes = ["lag"]
                fault = "bandwidth"
                rate_kbit = 64
                markers = 50
                marker_bytes = 32000
            """
        }
    )
    process = start_cli(root, tmp_path, "slow-link")
    read_until(process, "probe lag")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(item.startswith("qdisc") for item in leftovers()):
        time.sleep(0.1)
    present = leftovers()
    for kind in ("namespace", "link swbr-", "qdisc", "iptables rule", "process"):
        assert any(item.startswith(kind) for item in present), (kind, present)
    process.send_signal(signal.SIGINT)
    # A user presses Ctrl+C again at once (before the cleanup could start: a CI run once lost
    # the whole topology to that race) and again while the cleanup runs; it must finish anyway.
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    assert process.stdout is not None
    read_until(process, "interrupted: reverting faults", timeout=30)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130, out
    record = json.loads((tmp_path / "reports" / "latest" / "summary.json").read_text())
    assert (record["verdict"], record["exit_code"]) == ("interrupted", 130)


@needs_netns
def test_a_crash_with_regions_in_namespaces_is_cleaned_up_by_regions_down(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project({"stagewise.toml": '[resilience.local]\nnetwork = "netns"\n'})
    process = start_cli(root, tmp_path, "primary-down")
    read_until(process, "probe failover")
    process.kill()
    process.communicate(timeout=30)
    assert any(item.startswith("namespace") for item in leftovers())
    down = run_cli("regions", "down", cwd=root, timeout=60)
    assert down.returncode == 0, down.stdout + down.stderr
