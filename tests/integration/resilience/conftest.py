"""Fixtures for the resilience tier on the real local topology (PostgreSQL, processes, iptables).

Every test here checks afterwards that the run left nothing behind: no region
service or router process, no PostgreSQL cluster, no cluster directory and no
iptables rule of ours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagewise.tiers.resilience.postgres import PG_BIN_DIRS
from stagewise.tiers.resilience.topology import CHILD_MARKER
from tests.conftest import requires

HAS_PG = any((Path(d) / "initdb").exists() for d in PG_BIN_DIRS) or shutil.which("initdb") is not None
try:
    import psycopg  # noqa: F401

    HAS_PSYCOPG = True
except ImportError:  # pragma: no cover - the dev extra installs it
    HAS_PSYCOPG = False

HAS_PATRONI = shutil.which("patroni") is not None and shutil.which("etcd") is not None
IS_ROOT = os.geteuid() == 0
needs_pg = requires(
    HAS_PG and HAS_PSYCOPG,
    "needs the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) and psycopg",
)
needs_patroni = requires(
    HAS_PATRONI,
    "the local topology's failover manager is Patroni with etcd (apt-get install patroni etcd-server)",
)
needs_iptables = requires(
    IS_ROOT and shutil.which("iptables") is not None, "the blackhole fault needs root and iptables"
)
needs_netns = requires(
    IS_ROOT and all(shutil.which(t) for t in ("ip", "iptables", "tc")),
    "regions in network namespaces (the local topology's default) need root, ip (iproute2), iptables and tc",
)


def leftovers() -> list[str]:
    """Everything a resilience run may start that still exists now (processes, clusters, network parts)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            environ = b""
        marked = f"{CHILD_MARKER}=1".encode() in environ.split(b"\0")
        if marked or "stagewise.tiers.resilience" in cmdline or "stagewise-resilience-" in cmdline:
            found.append(f"process {proc.name}: {cmdline.strip()[:120]}")
    for parent in (Path("/tmp"), Path("/dev/shm")):
        found += [f"directory {p}" for p in parent.glob("stagewise-resilience-*")]
    if IS_ROOT and shutil.which("iptables"):
        rules = subprocess.run(
            ["iptables", "-w", "5", "-S"], capture_output=True, text=True, check=False
        ).stdout
        found += [f"iptables rule {line}" for line in rules.splitlines() if "stagewise-resilience" in line]
    if shutil.which("ip"):
        namespaces = subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, check=False
        ).stdout
        found += [f"namespace {line}" for line in namespaces.splitlines() if line.startswith("stagewise-")]
        links = subprocess.run(
            ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
        ).stdout
        found += [f"link {line.split(':')[1].strip()}" for line in links.splitlines() if ": sw" in line]
    if shutil.which("tc"):
        qdiscs = subprocess.run(["tc", "qdisc", "show"], capture_output=True, text=True, check=False).stdout
        found += [f"qdisc {line}" for line in qdiscs.splitlines() if "tbf" in line and " swv-" in line]
    return found


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Fail a test whose run leaves a process, a cluster, a directory or a rule behind."""
    before = leftovers()
    assert not before, f"leftovers from an earlier run: {before}"
    yield
    after = leftovers()
    assert not after, f"the run left these behind: {after}"
