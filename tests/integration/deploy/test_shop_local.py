"""examples/shop on the local backend: auto-start for tests, deploy ENV test, the shim.

The shop is copied to a temporary directory with free ports so these tests run
in parallel with everything else and never touch the checked-in project.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SHOP, cli_env, free_port, run_cli


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def shop_copy(tmp_path: Path) -> tuple[Path, int, int]:
    """examples/shop in tmp_path with dev and test on free ports."""
    root = tmp_path / "shop"
    shutil.copytree(
        SHOP,
        root,
        ignore=shutil.ignore_patterns(
            ".stagewise", "reports", ".wheels", "__pycache__", "*.db", ".pytest_cache"
        ),
    )
    dev, test = free_port(), free_port()
    toml = (root / "stagewise.toml").read_text()
    toml = toml.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{dev}")
    toml = toml.replace("http://127.0.0.1:8010", f"http://127.0.0.1:{test}")
    toml = toml.replace("port = { dev = 8000, test = 8010 }", f"port = {{ dev = {dev}, test = {test} }}")
    toml = re.sub(r"(\[stages\.dev\]\ntiers = )\[[^\]]*\]", r'\1["api", "e2e"]', toml)
    (root / "stagewise.toml").write_text(toml)
    return root, dev, test


def test_api_tier_starts_the_stage_itself_and_stops_it(shop_copy: tuple[Path, int, int]) -> None:
    root, _, test = shop_copy
    done = run_cli("test", "--api", cwd=root, env={"SHOP_API_TOKEN": "auto-start-token"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"nothing answers at http://127.0.0.1:{test}: starting test with the local backend" in done.stdout
    assert "stopped test (app)" in done.stdout
    assert "api          passed" in done.stdout
    assert not port_open(test)


def test_no_start_refuses_instead(shop_copy: tuple[Path, int, int]) -> None:
    root, _, test = shop_copy
    done = run_cli("test", "--api", "--no-start", cwd=root)
    assert done.returncode == 4
    assert f"nothing answers at http://127.0.0.1:{test}" in done.stdout
    assert not port_open(test)


@pytest.mark.browser
def test_deploy_dev_up_test_and_down_through_the_shim(
    shop_copy: tuple[Path, int, int], tmp_path: Path
) -> None:
    root, dev, _ = shop_copy

    def shim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(root / "deployment" / "deploy.py"), *args],
            cwd=tmp_path,
            env=cli_env({"SHOP_API_TOKEN": "deploy-token"}),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    try:
        up = shim("dev", "up", "-d")
        assert up.returncode == 0, up.stdout + up.stderr
        assert port_open(dev)
        tested = shim("dev", "test", "--reports-dir", str(tmp_path / "reports"))
        assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr
        assert "api          passed" in tested.stdout
        assert "e2e          passed" in tested.stdout
        only_app = shim("dev", "test", "app", "--reports-dir", str(tmp_path / "reports-app"))
        assert only_app.returncode == 0, only_app.stdout[-3000:] + only_app.stderr
        unknown = shim("dev", "test", "payments")
        assert unknown.returncode == 2
        assert "services are app" in unknown.stderr
    finally:
        down = shim("dev", "down")
    assert down.returncode == 0
    assert not port_open(dev)


def test_shop_dev_migrate_backup_and_restore_through_the_shim(
    shop_copy: tuple[Path, int, int], tmp_path: Path
) -> None:
    """Sections 7-9 on the shop's dev env: SQLite, local backend, the app running throughout."""
    import json
    import sqlite3
    import urllib.request

    root, dev, _ = shop_copy
    token = "data-ops-token"  # noqa: S105 - a throwaway token for this test's own app

    def shim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(root / "deployment" / "deploy.py"), *args],
            cwd=tmp_path,
            env=cli_env({"SHOP_API_TOKEN": token}),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def products() -> list[str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{dev}/products", timeout=10) as answer:
            return sorted(p["name"] for p in json.load(answer))

    try:
        up = shim("dev", "up", "-d")
        assert up.returncode == 0, up.stdout + up.stderr
        check = shim("dev", "migrate", "--check", "--json")
        assert check.returncode == 0, check.stdout + check.stderr
        assert json.loads(check.stdout)["at_head"] is True
        request = urllib.request.Request(
            f"http://127.0.0.1:{dev}/products",
            data=json.dumps({"name": "Kept by the backup ✓", "price_cents": 250, "stock": 3}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as made:  # noqa: S310 - http on loopback
            assert made.status == 201
        before = products()
        assert "Kept by the backup ✓" in before

        backup = shim("dev", "backup")
        assert backup.returncode == 0, backup.stdout + backup.stderr
        path = Path(backup.stdout.strip().splitlines()[-1])
        assert path.parent == root / "backups" / "dev"
        assert json.loads(path.with_name(path.name + ".json").read_text())["tables"]["products"] == len(
            before
        )

        with sqlite3.connect(root / ".stagewise" / "dev" / "shop.db") as db:
            db.execute("DELETE FROM order_events")
            db.execute("DELETE FROM order_items")
            db.execute("DELETE FROM payments")
            db.execute("DELETE FROM orders")
            db.execute("DELETE FROM products")
        assert products() == []

        restored = shim("dev", "restore")
        assert restored.returncode == 0, restored.stdout + restored.stderr
        said = restored.stdout + restored.stderr
        assert "stopped app for the swap" in said
        assert "started app again" in said
        assert products() == before, "the app serves the restored data"

        missing = shim("dev", "restore", "--file", str(tmp_path / "nope.sqlite3"))
        assert missing.returncode == 4
        assert "does not exist" in missing.stderr
        assert products() == before
    finally:
        down = shim("dev", "down")
    assert down.returncode == 0
    assert not port_open(dev)
