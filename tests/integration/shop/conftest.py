"""A running examples/shop on 127.0.0.1 (fresh SQLite, migrated), one per test module."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import SHOP, free_port

TOKEN = "shop-test-token-8f2a"  # noqa: S105 - a throwaway token for a throwaway server


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work: Path = tmp_path_factory.mktemp("shop")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGEWISE_")}
    env.update({"DATABASE_URL": f"sqlite:///{work / 'shop.db'}", "SHOP_API_TOKEN": TOKEN})
    subprocess.run([sys.executable, "-m", "shop.migrate"], cwd=SHOP, env=env, check=True, capture_output=True)
    port = free_port()
    log = (work / "shop.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "shop", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=SHOP,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (work / "shop.log").read_text()
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, "the shop never became healthy"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
