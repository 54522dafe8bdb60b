"""The global router of the local topology: the entry URL users hit.

A small HTTP reverse proxy on 127.0.0.1 (HAProxy's model, run by stagewise so
that the tier needs nothing installed), started as its own process:

- a request carrying ``X-Client-Region: LOCATION`` goes to the healthy region
  at that location (the nearest one); otherwise, or when that region is down,
- regions share the traffic by weight with smooth weighted round robin (what
  nginx and HAProxy's ``roundrobin`` do), so 80/20 is 80/20 over any ten;
- with ``health_check`` on, each region's ``/health`` is polled every
  ``interval`` seconds and a region that fails ``fall`` checks in a row gets no
  traffic until it passes ``rise`` in a row (HAProxy's ``check fall rise``);
  without it the router keeps sending a dead region its share;
- a connection refused is re-dispatched to another region (``option
  redispatch``): the request never reached anyone, so retrying is safe.

``GET /__router`` answers the backends' state as JSON.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Backend:
    """One region behind the router."""

    name: str
    url: str
    weight: float
    location: str
    healthy: bool = True
    current: float = 0.0
    streak: int = 0
    served: int = 0

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80


@dataclass
class RouterConfig:
    """What the router is told at start (passed as JSON on its command line)."""

    backends: list[dict[str, Any]]
    health_check: bool = True
    interval: float = 0.25
    check_timeout: float = 0.5
    fall: int = 2
    rise: int = 2
    upstream_timeout: float = 2.0
    redispatch: bool = True
    geo: bool = True  # route X-Client-Region to its region; False ignores the header (a planted fault)
    extra: dict[str, Any] = field(default_factory=dict)


class Router:
    """Picks a backend for each request; thread-safe."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.backends = [
            Backend(b["name"], b["url"], float(b["weight"]), str(b.get("location") or b["name"]))
            for b in config.backends
        ]
        self._lock = threading.Lock()

    def pick(self, location: str | None, exclude: set[str]) -> Backend | None:
        """The nearest healthy backend for ``location``, else the next by smooth weighted round robin."""
        with self._lock:
            candidates = [b for b in self.backends if b.healthy and b.name not in exclude]
            if location and self.config.geo:
                near = [b for b in candidates if b.location == location]
                if near:
                    candidates = near
            weighted = [b for b in candidates if b.weight > 0] or candidates
            if not weighted:
                return None
            total = sum(b.weight for b in weighted)
            for backend in weighted:
                backend.current += backend.weight
            chosen = max(weighted, key=lambda b: b.current)
            chosen.current -= total
            chosen.served += 1
            return chosen

    def check_loop(self) -> None:
        """Poll every backend's /health; mark it down after ``fall`` failures, up after ``rise``."""
        while True:
            for backend in self.backends:
                ok = _probe(backend, self.config.check_timeout)
                with self._lock:
                    if ok != backend.healthy:
                        backend.streak += 1
                        limit = self.config.rise if ok else self.config.fall
                        if backend.streak >= limit:
                            backend.healthy, backend.streak = ok, 0
                    else:
                        backend.streak = 0
            time.sleep(self.config.interval)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "health_check": self.config.health_check,
                "backends": [
                    {
                        "name": b.name,
                        "healthy": b.healthy,
                        "weight": b.weight,
                        "location": b.location,
                        "served": b.served,
                    }
                    for b in self.backends
                ],
            }


def _probe(backend: Backend, timeout: float) -> bool:
    connection = http.client.HTTPConnection(*backend.address, timeout=timeout)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def make_server(router: Router, port: int) -> http.server.ThreadingHTTPServer:
    """The proxy server in front of ``router``'s backends."""

    class ProxyHandler(http.server.BaseHTTPRequestHandler):
        def _proxy(self, method: str) -> None:
            if self.path == "/__router":
                self._send(200, json.dumps(router.status()).encode(), {})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            location = self.headers.get("X-Client-Region")
            tried: set[str] = set()
            while True:
                backend = router.pick(location, tried)
                if backend is None:
                    self._send(503, b'{"error": "no healthy region"}', {})
                    return
                tried.add(backend.name)
                connection = http.client.HTTPConnection(
                    *backend.address, timeout=router.config.upstream_timeout
                )
                try:
                    headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                    connection.request(method, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    passed = {
                        k: v for k, v in response.getheaders() if k.lower() in ("content-type", "x-region")
                    }
                    passed["X-Routed-To"] = backend.name
                    self._send(response.status, data, passed)
                    return
                except ConnectionRefusedError:
                    if not router.config.redispatch:
                        self._send(
                            502, b'{"error": "region refused the connection"}', {"X-Routed-To": backend.name}
                        )
                        return
                except (OSError, http.client.HTTPException) as exc:
                    kind = "timed out" if isinstance(exc, TimeoutError) else "failed"
                    status = 504 if kind == "timed out" else 502
                    self._send(
                        status,
                        json.dumps({"error": f"region {kind}"}).encode(),
                        {"X-Routed-To": backend.name},
                    )
                    return
                finally:
                    connection.close()

        def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._proxy("GET")

        def do_PUT(self) -> None:
            self._proxy("PUT")

        def do_POST(self) -> None:
            self._proxy("POST")

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), ProxyHandler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    """Run the router until killed."""
    parser = argparse.ArgumentParser(prog="stagewise-router")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True, help="the RouterConfig as JSON")
    args = parser.parse_args(argv)
    router = Router(RouterConfig(**json.loads(args.config)))
    if router.config.health_check:
        threading.Thread(target=router.check_loop, daemon=True).start()
    make_server(router, args.port).serve_forever()


if __name__ == "__main__":
    main()
