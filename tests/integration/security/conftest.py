"""Real servers for the security tier's tests: the planted-vulnerability app, the shop, an OSV feed.

Every server listens on 127.0.0.1 on a free port and runs as a real process
(uvicorn) or thread (http.server); nothing about the checks is mocked.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import SHOP, free_port

#: The vulnerable fixture project is data for these tests, not tests to collect.
collect_ignore_glob = ["vulnapp/*"]

VULNAPP = Path(__file__).parent / "vulnapp"
SHOP_TOKEN = "security-tier-test-token"  # noqa: S105 - a throwaway token for a throwaway server


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with opener.open(url, timeout=1) as response:
                response.read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer at {url}: {log.read_text()[-2000:]}")


def _serve(command: list[str], cwd: Path, env: Mapping[str, str], probe: str, log: Path) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(probe, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def vulnapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The deliberately vulnerable app under uvicorn; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("vulnapp") / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "vulnapp.app:app", "--host", "127.0.0.1", "--port", str(port)]
    for _ in _serve(command, VULNAPP, os.environ, f"{url}/openapi.json", log):
        yield url


@dataclass(frozen=True)
class ShopServer:
    url: str
    token: str


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopServer]:
    """examples/shop on a fresh SQLite database, with a known write token."""
    state = tmp_path_factory.mktemp("shop")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{state}/shop.db", "SHOP_API_TOKEN": SHOP_TOKEN}
    subprocess.run([sys.executable, "-m", "shop.migrate"], cwd=SHOP, env=env, check=True, capture_output=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "shop",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    for _ in _serve(command, SHOP, env, f"{url}/health", state / "shop.log"):
        yield ShopServer(url, SHOP_TOKEN)


#: What a real OSV feed answers for requests 2.19.0 (PYSEC-2018-28, CVE-2018-18074), trimmed.
REQUESTS_2_19_0 = {
    "vulns": [
        {
            "id": "PYSEC-2018-28",
            "aliases": ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"],
            "summary": "The Requests package before 2.20.0 sends an HTTP Authorization header to an "
            "http URI upon receiving a same-hostname https-to-http redirect.",
            "affected": [
                {
                    "package": {"name": "requests", "ecosystem": "PyPI"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}],
                }
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def osv_feed() -> Iterator[str]:
    """A local OSV-API-compatible feed (POST /v1/query) holding one real advisory; yields its URL.

    The public feeds are not reachable from this machine; this stands in for an
    organisation's OSV mirror (``security.dependencies.osv_url``), so pip-audit
    itself runs for real and its real output is what the check reads.
    """

    class Feed(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            package = query.get("package", {}).get("name")
            body = json.dumps(
                REQUESTS_2_19_0 if (package, query.get("version")) == ("requests", "2.19.0") else {}
            )
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
