"""No swarm on the engine: exit 4 saying how to make one (runs only while the engine is no swarm)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import requires
from tests.helpers import SHOP, run_cli
from tests.integration.backends.conftest import swarm_state

pytestmark = [
    pytest.mark.docker,
    pytest.mark.xdist_group("swarm"),
    requires(shutil.which("docker") is not None, "needs the docker engine"),
]


@pytest.mark.skipif(swarm_state() == "active", reason="the engine already is a swarm (left as found)")
def test_up_without_a_swarm_is_exit_4_saying_how(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".stagewise", "reports", "__pycache__"))
    up = run_cli("deploy", "staging", "up", "-d", "--backend", "swarm", cwd=root, env={"SHOP_API_TOKEN": "t"})
    assert up.returncode == 4, up.stdout + up.stderr
    assert "docker swarm init --advertise-addr 127.0.0.1" in up.stderr
