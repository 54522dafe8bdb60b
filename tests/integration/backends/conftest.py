"""A one-node swarm for the swarm backend's tests, made here and left as it was found."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest


def swarm_state() -> str:
    done = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


#: The comment that names this suite's guard rule, so teardown removes only its own.
GUARD_COMMENT = "stagewise-tests: swarm ports on loopback only"


def _outside_interfaces() -> list[str]:
    """The interfaces a default route leaves by: where a connection from another machine comes in."""
    done = subprocess.run(
        ["ip", "-o", "route", "show", "default"], capture_output=True, text=True, check=False
    )
    words = done.stdout.split()
    return sorted({words[i + 1] for i, word in enumerate(words[:-1]) if word == "dev"})


def _guard_rules() -> list[list[str]]:
    """DOCKER-USER rules dropping new connections from outside to any container.

    Swarm publishes a port on every address (Docker 20.10 has no host IP for a published
    port, moby/moby#26696), so while the tests' stacks run, a connection from another
    machine to one of their ports is dropped before it reaches a container; loopback,
    where the tests talk to them, is untouched.
    """
    return [
        [
            "DOCKER-USER",
            "-i",
            interface,
            "-m",
            "conntrack",
            "--ctstate",
            "NEW",
            "-m",
            "comment",
            "--comment",
            GUARD_COMMENT,
            "-j",
            "DROP",
        ]
        for interface in _outside_interfaces()
    ]


def _iptables(action: str, rule: list[str]) -> bool:
    done = subprocess.run(["iptables", action, *rule], capture_output=True, check=False, timeout=30)
    return done.returncode == 0


@pytest.fixture(scope="module")
def one_node_swarm() -> Iterator[None]:
    """``docker swarm init`` unless the engine already is a swarm; ``leave`` only if it was made here.

    Its published ports are kept off the network by :func:`_guard_rules` while it runs.
    """
    assert shutil.which("docker"), "docker is needed"
    made = False
    if swarm_state() != "active":
        done = subprocess.run(
            ["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        made = True
    guards = _guard_rules()
    for rule in guards:
        assert _iptables("-I", rule), f"could not add the loopback-only guard: iptables -I {' '.join(rule)}"
    try:
        yield
    finally:
        for rule in guards:
            _iptables("-D", rule)
        if made:
            subprocess.run(
                ["docker", "swarm", "leave", "--force"], capture_output=True, check=False, timeout=120
            )
