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


@pytest.fixture(scope="module")
def one_node_swarm() -> Iterator[None]:
    """``docker swarm init`` unless the engine already is a swarm; ``leave`` only if it was made here."""
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
    try:
        yield
    finally:
        if made:
            subprocess.run(
                ["docker", "swarm", "leave", "--force"], capture_output=True, check=False, timeout=120
            )
