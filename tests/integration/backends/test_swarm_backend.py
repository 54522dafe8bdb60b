"""The swarm backend on a real one-node swarm: examples/shop as a stack, faults said plainly.

The swarm is made by the ``one_node_swarm`` fixture and left as found. Every
stack is named with a unique prefix, so compose tests running on the same
engine are never touched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import requires
from tests.helpers import SHOP, free_port, run_cli

pytestmark = [
    pytest.mark.docker,
    pytest.mark.xdist_group("swarm"),
    requires(shutil.which("docker") is not None, "needs the docker engine"),
]


def shop_copy(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    root = tmp_path / "shop"
    shutil.copytree(
        SHOP,
        root,
        ignore=shutil.ignore_patterns(".stagewise", "reports", "__pycache__", "*.db", ".pytest_cache"),
    )
    prefix = f"sws{uuid.uuid4().hex[:8]}"
    port, db_port = free_port(), free_port()
    toml = (root / "stagewise.toml").read_text()
    toml = toml.replace("[compose]\n", f'[compose]\nproject_prefix = "{prefix}"\n')
    toml += (
        f'\n[stages.swarm]\ntiers = ["api"]\nbase_url = "http://127.0.0.1:{port}"\n'
        'backend = "swarm"\ncompose_file = "docker-compose.swarm.yml"\n'
    )
    toml = toml.replace("[data.containers]\n", '[data.containers]\nswarm = "db"\n')
    toml = toml.replace(
        "[data.urls]\n",
        '[data.urls]\nswarm = "postgresql://shop:shop-swarm-db@127.0.0.1:${SHOP_SWARM_DB_PORT}/shop"\n',
    )
    (root / "stagewise.toml").write_text(toml)
    env = {"SHOP_SWARM_PORT": str(port), "SHOP_SWARM_DB_PORT": str(db_port), "STAGEWISE_SWARM_TIMEOUT": "240"}
    return root, env, f"{prefix}-swarm"


PROBE = "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=5)"


def task_ids(stack: str) -> list[str]:
    return subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack}_app"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def test_shop_up_two_replicas_kill_one_status_down(tmp_path: Path, one_node_swarm: None) -> None:
    root, env, stack = shop_copy(tmp_path)
    try:
        up = run_cli("deploy", "swarm", "up", "-d", "--build", cwd=root, env=env, timeout=900)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr
        assert "depends_on is ignored by Swarm" in up.stdout + up.stderr
        assert (up.stdout + up.stderr).count("depends_on is ignored") == 1
        assert "is up on the swarm backend" in up.stdout
        # Each replica answers inside its own task, and the edge's published port reaches them
        # (no IPVS here, so no routing mesh: the edge spreads connections by DNS, tasks.app).
        for task in task_ids(stack):
            health = subprocess.run(
                ["docker", "exec", task, "python3", "-c", PROBE], capture_output=True, text=True, check=False
            )
            assert health.returncode == 0, health.stderr
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{env['SHOP_SWARM_PORT']}/health", timeout=10) as answer:
            assert json.loads(answer.read()) == {"status": "ok", "database": "ok"}
        status = run_cli("deploy", "swarm", "status", cwd=root, env=env)
        assert status.returncode == 0, status.stderr
        assert "replicas 2/2" in status.stdout, status.stdout
        assert "app.1" in status.stdout
        assert "app.2" in status.stdout
        # A replica killed from outside is replaced by the engine, and status says so.
        ids = task_ids(stack)
        assert len(ids) == 2
        subprocess.run(["docker", "kill", ids[0]], capture_output=True, check=True)
        deadline = time.monotonic() + 120
        replaced = ""
        while time.monotonic() < deadline:
            replaced = run_cli("deploy", "swarm", "status", cwd=root, env=env).stdout
            if "replicas 2/2" in replaced and "failed" in replaced.lower():
                break
            time.sleep(2)
        assert "replicas 2/2" in replaced, replaced
        assert "failed" in replaced.lower(), replaced
        # data commands through the database service's task
        backup = run_cli("deploy", "swarm", "backup", cwd=root, env=env, timeout=300)
        assert backup.returncode == 0, backup.stdout + backup.stderr
    finally:
        down = run_cli("deploy", "swarm", "down", "--volumes", cwd=root, env=env, timeout=300)
        assert down.returncode == 0, down.stderr
    left = subprocess.run(
        ["docker", "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert left.stdout.split() == []


def test_a_service_that_never_converges_is_exit_1_naming_it_and_removed(
    tmp_path: Path, one_node_swarm: None
) -> None:
    root, env, stack = shop_copy(tmp_path)
    (root / "docker-compose.swarm.yml").write_text(
        "services:\n  broken:\n    image: stagewise/base:bookworm\n"
        '    command: ["python3", "-c", "raise SystemExit(3)"]\n'
    )
    env["STAGEWISE_SWARM_TIMEOUT"] = "20"
    up = run_cli("deploy", "swarm", "up", "-d", cwd=root, env=env, timeout=300)
    assert up.returncode == 1, up.stdout + up.stderr
    assert "service broken did not converge" in up.stderr
    assert "non-zero exit (3)" in up.stderr, up.stderr
    assert "removed the stack" in up.stderr
    left = subprocess.run(
        ["docker", "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert left.stdout.split() == []


def test_up_keep_leaves_a_stack_that_never_converges_for_a_look(tmp_path: Path, one_node_swarm: None) -> None:
    root, env, stack = shop_copy(tmp_path)
    (root / "docker-compose.swarm.yml").write_text(
        "services:\n  broken:\n    image: stagewise/base:bookworm\n"
        '    command: ["python3", "-c", "raise SystemExit(3)"]\n'
    )
    env["STAGEWISE_SWARM_TIMEOUT"] = "20"
    try:
        up = run_cli("deploy", "swarm", "up", "--keep", cwd=root, env=env, timeout=300)
        assert up.returncode == 1, up.stdout + up.stderr
        assert "service broken did not converge" in up.stderr
        assert "non-zero exit (3)" in up.stderr, up.stderr
        assert f"the stack {stack} is left as it is (--keep)" in up.stderr
        assert "removed the stack" not in up.stderr
        left = subprocess.run(
            ["docker", "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack}"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert len(left.stdout.split()) == 1
        status = run_cli("deploy", "swarm", "status", cwd=root, env=env)
        assert "non-zero exit (3)" in status.stdout, status.stdout
    finally:
        down = run_cli("deploy", "swarm", "down", cwd=root, env=env, timeout=300)
        assert down.returncode == 0, down.stderr
    left = subprocess.run(
        ["docker", "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert left.stdout.split() == []


def test_up_keep_on_a_compose_stage_is_a_usage_error(tmp_path: Path) -> None:
    root, env, _ = shop_copy(tmp_path)
    env["SHOP_API_TOKEN"] = uuid.uuid4().hex
    up = run_cli("deploy", "staging", "up", "--keep", cwd=root, env=env)
    assert up.returncode == 2, up.stdout + up.stderr
    assert "--keep is for the swarm backend" in up.stderr
