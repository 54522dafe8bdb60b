"""The front door on a real HAProxy: a door an earlier stagewise started still switches."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagewise.release import frontdoor
from stagewise.release.frontdoor import FrontDoor
from stagewise.tiers.resilience.haproxy import haproxy_binary
from tests.conftest import requires
from tests.helpers import free_port

pytestmark = [
    requires(haproxy_binary() is not None, "needs HAProxy (apt-get install haproxy)"),
    # The door's HAProxy is started to outlive the CLI process that starts it, so here, in
    # one process, its Popen is collected while it runs; stop() ends it by its journal.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _server(name: str) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def slots() -> Iterator[dict[str, int]]:
    servers = {"a": _server("a"), "b": _server("b")}
    yield {slot: server.server_address[1] for slot, server in servers.items()}
    for server in servers.values():
        server.shutdown()


def _get(port: int) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        return str(answer.read().decode())


@pytest.mark.parametrize("twins", [True, False], ids=["this-layout", "earlier-layout"])
def test_a_door_switches_and_drains_with_or_without_backup_twins(
    tmp_path: Path, slots: dict[str, int], monkeypatch: pytest.MonkeyPatch, twins: bool
) -> None:
    if not twins:  # the config an earlier stagewise wrote: no ``*_back`` servers
        render = frontdoor.render

        def earlier(*args: object, **kwargs: object) -> str:
            text = render(*args, **kwargs)  # type: ignore[arg-type]
            return "\n".join(line for line in text.splitlines() if "_back " not in line) + "\n"

        monkeypatch.setattr(frontdoor, "render", earlier)
    door = FrontDoor(tmp_path, free_port(), slots, "/")
    door.start("a")
    try:
        assert _get(door.port) == "a"
        door.switch("b", fallback=True)
        assert _get(door.port) == "b"
        assert door.drain("a", 2.0)
        assert _get(door.port) == "b"
        assert door.serving() == "b"
    finally:
        door.stop()
