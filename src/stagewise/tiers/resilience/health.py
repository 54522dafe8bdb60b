"""Waiting for the local topology's parts: region services, Patroni nodes, HAProxy.

Each wait ends with :class:`~stagewise.errors.MissingError` (exit 4) naming the
part and, where it has one, the tail of its log.
"""

from __future__ import annotations

import contextlib
import time

from stagewise.errors import MissingError
from stagewise.tiers.resilience import patroni
from stagewise.tiers.resilience.deployment import Deployment, Started
from stagewise.tiers.resilience.haproxy import fetch_states
from stagewise.tiers.resilience.httpclient import http_json


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


def wait_bootstrapping(deployment: Deployment, region: str, etcd: tuple[str, int], scope: str) -> None:
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


def wait_node(deployment: Deployment, region: str, roles: tuple[str, ...]) -> None:
    """Wait for a Patroni node's role; exit 4 with the tail of its log when it dies or never gets there."""
    started = deployment.services[f"patroni-{region}"]
    try:
        patroni.wait_role(deployment.patroni_api[region], region, roles)
    except MissingError as exc:
        tail = started.log.read_text(encoding="utf-8", errors="replace")[-500:].strip()
        raise MissingError(f"{exc}; its log ({started.log}) ends: {tail}") from exc


def wait_haproxy(started: Started, url: str, regions: list[str], timeout: float = 20.0) -> None:
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


__all__ = ["wait_bootstrapping", "wait_haproxy", "wait_healthy", "wait_node"]
