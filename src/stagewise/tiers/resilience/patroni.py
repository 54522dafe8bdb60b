"""Patroni with etcd: the local topology's failover manager.

Patroni (Debian's ``patroni``) runs beside each region's PostgreSQL and keeps
a leader lease in etcd (Debian's ``etcd-server``). When the primary's lease
runs out — its host died, its Patroni was killed — the replica's Patroni
takes the lease and promotes its database; when the old node comes back it
rejoins as a standby (``pg_rewind``, or a fresh copy when that fails). That
is the promotion the failover probe measures: stagewise only plants the fault
and watches the clients.

Replication runs through the link proxies: each node's ``connect_address``
(what the other node streams from, and ``pg_basebackup``s from) is the
fault proxy in front of it, so latency, resets and partitions on the
cross-region link act on Patroni's own replication whichever node leads.

Nothing here starts a process: :mod:`~stagewise.tiers.resilience.topology`
spawns etcd and the nodes (journalled) from the argument lists and
configuration files built here. The configuration is written as JSON, which
is YAML too, so no YAML library is needed.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagewise.errors import MissingError

#: The shortest leader lease: Patroni's loop runs every second and a DCS call
#: may take ``retry_timeout`` (2 s) twice before the leader must step down.
MIN_TTL_S = 5
LOOP_WAIT_S = 1
#: Our own etcd and Patroni are on local addresses: never through an http_proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def binaries() -> tuple[str, str]:
    """``(patroni, etcd)`` on PATH; exit 4 naming the packages when either is missing."""
    patroni, etcd = shutil.which("patroni"), shutil.which("etcd")
    missing = [name for name, path in (("patroni", patroni), ("etcd-server", etcd)) if path is None]
    if missing or patroni is None or etcd is None:
        raise MissingError(
            "the local topology's failover manager is Patroni with etcd, and "
            + " and ".join(missing)
            + (" is" if len(missing) == 1 else " are")
            + f" not installed: apt-get install {' '.join(missing)} "
            '(or set [resilience.local] failover = "stagewise")'
        )
    return patroni, etcd


def lease(promote_after: float) -> dict[str, int]:
    """Patroni's timing for a failover after about ``promote_after`` seconds of silence.

    ``ttl`` is the leader lease; Patroni needs ``loop_wait + 2 * retry_timeout
    <= ttl`` so a leader that cannot reach etcd steps down before its lease
    ends (no two primaries).
    """
    ttl = max(MIN_TTL_S, math.ceil(promote_after))
    return {"ttl": ttl, "loop_wait": LOOP_WAIT_S, "retry_timeout": max(1, (ttl - LOOP_WAIT_S) // 2)}


def etcd_argv(etcd: str, data_dir: Path, host: str, client_port: int, peer_port: int) -> list[str]:
    """A one-member etcd cluster on ``host`` (the third site both regions reach)."""
    client, peer = f"http://{host}:{client_port}", f"http://{host}:{peer_port}"
    return [
        etcd,
        "--name",
        "stagewise",
        "--data-dir",
        str(data_dir),
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        f"stagewise={peer}",
        "--log-level",
        "warn",
    ]


@dataclass(frozen=True)
class NodeSpec:
    """One Patroni node: where its database listens and where the other node reaches it."""

    name: str
    host: str
    port: int
    connect: tuple[str, int]  # the link proxy in front of this node
    api_port: int
    directory: Path  # data directory, socket and password file live here


def node_config(
    node: NodeSpec,
    *,
    scope: str,
    etcd: tuple[str, int],
    bin_dir: Path,
    trusted: list[str],
    promote_after: float,
    synchronous: bool,
) -> dict[str, Any]:
    """Patroni's configuration for ``node`` (every node of a scope gets the same bootstrap)."""
    parameters: dict[str, Any] = {
        "wal_level": "replica",
        "hot_standby": "on",
        "max_wal_senders": 5,
        "max_replication_slots": 5,
        "wal_keep_size": "64MB",
        "wal_log_hints": "on",  # pg_rewind after a failover
        # The processes crash in these tests, never the machine; fsync only costs time here.
        "fsync": "off",
        "max_connections": 60,
        "shared_buffers": "16MB",
        "wal_sender_timeout": "5s",
        "wal_receiver_status_interval": "1s",
        "wal_retrieve_retry_interval": "200ms",
        "log_min_messages": "warning",
    }
    if synchronous:
        parameters["synchronous_commit"] = "remote_apply"
    hba = ["local all all trust"]
    for network in trusted:
        hba += [f"host all all {network} trust", f"host replication all {network} trust"]
    return {
        "scope": scope,
        "name": node.name,
        "log": {"level": "WARNING"},
        # No watchdog device here; safety_margin -1 keeps Patroni 3.0 from warning about it every loop.
        "watchdog": {"mode": "off", "safety_margin": -1},
        "restapi": {
            "listen": f"{node.host}:{node.api_port}",
            "connect_address": f"{node.host}:{node.api_port}",
        },
        "etcd3": {"hosts": [f"{etcd[0]}:{etcd[1]}"]},
        "bootstrap": {
            "dcs": {
                **lease(promote_after),
                "maximum_lag_on_failover": 16 * 1024 * 1024,
                "synchronous_mode": synchronous,
                "postgresql": {
                    "use_pg_rewind": True,
                    "use_slots": True,
                    "remove_data_directory_on_rewind_failure": True,
                    "remove_data_directory_on_diverged_timelines": True,
                    "parameters": parameters,
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"auth": "trust"}, "no-sync"],
        },
        "postgresql": {
            "listen": f"{node.host}:{node.port}",
            "connect_address": f"{node.connect[0]}:{node.connect[1]}",
            "data_dir": str(node.directory / "data"),
            "bin_dir": str(bin_dir),
            "pgpass": str(node.directory / "pgpass"),
            "authentication": {
                "superuser": {"username": "postgres"},
                "replication": {"username": "postgres"},
            },
            "parameters": {"unix_socket_directories": str(node.directory)},
            "pg_hba": hba,
            # The replica's copy must not wait for a spread checkpoint on the leader.
            "basebackup": [{"checkpoint": "fast"}],
        },
    }


def write_config(path: Path, config: dict[str, Any]) -> None:
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def member_state(api_url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """Patroni's own view of a node (``GET /patroni``): role, state; None when it does not answer."""
    try:
        with _DIRECT.open(api_url.rstrip("/") + "/patroni", timeout=timeout) as answer:
            data = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def initialized(etcd: tuple[str, int], scope: str, timeout: float = 1.0) -> bool:
    """Whether a node of ``scope`` holds the cluster's initialize key in etcd (it is bootstrapping).

    Read through etcd's own JSON gateway (``/v3/kv/range``), so no client library is needed.
    """
    key = base64.b64encode(f"/service/{scope}/initialize".encode()).decode()
    request = urllib.request.Request(
        f"http://{etcd[0]}:{etcd[1]}/v3/kv/range",
        data=json.dumps({"key": key}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with _DIRECT.open(request, timeout=timeout) as answer:
            data = json.loads(answer.read())
    except (OSError, ValueError):
        return False
    return bool(isinstance(data, dict) and data.get("kvs"))


def wait_role(api_url: str, name: str, roles: tuple[str, ...], timeout: float = 60.0) -> None:
    """Wait until the node at ``api_url`` runs in one of ``roles``; exit 4 with its last state if not."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        state = member_state(api_url)
        if state and state.get("state") == "running" and state.get("role") in roles:
            return
        time.sleep(0.1)
    seen = f"{state.get('role')}, {state.get('state')}" if state else "no answer from its REST API"
    raise MissingError(
        f"Patroni node {name} is not a running {' or '.join(roles)} after {timeout:g} s ({seen})"
    )


__all__ = [
    "MIN_TTL_S",
    "NodeSpec",
    "binaries",
    "etcd_argv",
    "initialized",
    "lease",
    "member_state",
    "node_config",
    "wait_role",
    "write_config",
]
