"""A small real web app on 127.0.0.1 for load tests, with endpoints planted to break gates.

``/fast`` answers at once, ``/slow`` takes 300 ms, ``/fail`` always answers
500, ``/serial`` serves one request at a time (50 ms each, so latency grows
with users: a stress test's breaking point), ``/item`` sleeps for
``app.item_delay`` (raise it to plant a regression) and ``/metrics`` reports
a resident memory that grows by ``app.leak`` per scrape. The app counts the
paths and Host headers it saw, so a test can tell where Locust's load went.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


@dataclass
class LoadApp:
    """The running app: its URL and what it has seen; tests may change the knobs."""

    url: str = ""
    item_delay: float = 0.0
    leak: float = 0.0
    memory: float = 50_000_000.0
    paths: Counter[str] = field(default_factory=Counter)
    hosts: Counter[str] = field(default_factory=Counter)
    serial: threading.Lock = field(default_factory=threading.Lock)


def _handler(app: LoadApp) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            app.paths[path] += 1
            app.hosts[self.headers.get("Host", "")] += 1
            status, body = 200, b"ok"
            if path == "/slow":
                time.sleep(0.3)
            elif path == "/fail":
                status, body = 500, b"planted failure"
            elif path == "/serial":
                with app.serial:
                    time.sleep(0.05)
            elif path == "/item":
                time.sleep(app.item_delay)
            elif path == "/metrics":
                app.memory *= 1 + app.leak
                body = f"# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {app.memory}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


@pytest.fixture
def load_app() -> Iterator[LoadApp]:
    """A fresh app on its own free port for one test."""
    app = LoadApp()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(app))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
