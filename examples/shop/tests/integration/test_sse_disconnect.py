"""A real uvicorn server: the SSE generator must stop when the client goes away."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from shop.app import create_app
from shop.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _active_streams(client: httpx.Client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("shop_sse_active_streams "):
            return float(line.split()[1])
    raise AssertionError("shop_sse_active_streams missing from /metrics")


def test_stream_ends_when_client_disconnects(live_url: str) -> None:
    with httpx.Client(base_url=live_url, timeout=5) as client:
        with client.stream("GET", "/events/orders") as resp:  # unbounded stream
            assert resp.status_code == 200
            chunks = resp.iter_text()  # keep a reference: a collected iterator closes the socket
            assert next(chunks).startswith(": connected")
            time.sleep(0.5)  # several poll cycles: an open stream must stay alive
            assert _active_streams(client) == 1
            assert next(chunks).startswith(": heartbeat")
        deadline = time.monotonic() + 5
        while _active_streams(client) != 0:
            assert time.monotonic() < deadline, "SSE generator kept running after disconnect"
            time.sleep(0.1)
