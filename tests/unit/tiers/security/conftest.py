"""A real HTTP server on 127.0.0.1 answering from a table of pages, for the crawl and discovery tests."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import pytest


@dataclass(frozen=True)
class Page:
    """One canned answer: status, headers, body, and an optional delay before it."""

    body: str = ""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0


@dataclass
class Site:
    """A running server: its URL and every path it was asked for, in order."""

    url: str
    requested: list[str]


SiteFactory = Callable[[Mapping[str, Page]], Site]


@pytest.fixture
def site() -> Iterator[SiteFactory]:
    """Start servers answering ``pages[path]`` (404 with a plain body for anything else)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(pages: Mapping[str, Page]) -> Site:
        requested: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def version_string(self) -> str:
                return "test-site"  # no version in the banner: the banner check stays quiet

            def _answer(self, send_body: bool) -> None:
                requested.append(self.path)
                page = pages.get(self.path, Page("no such page", 404, {"Content-Type": "text/plain"}))
                if page.delay:
                    time.sleep(page.delay)
                data = page.body.encode()
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if send_body:
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer(True)

            def do_TRACE(self) -> None:
                self._answer(True)

            def log_message(self, format: str, *args: object) -> None:
                return None

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return Site(f"http://127.0.0.1:{server.server_address[1]}", requested)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
