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

Every method is forwarded (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)
with every end-to-end header, both ways, and bodies streamed in bounded
pieces (see :mod:`~stagewise.tiers.resilience.forwarding`), so a service
that checks its bearer token works through it as through HAProxy. Client
connections are HTTP/1.1 and kept alive; each request opens its own
connection to the region it is routed to. Only the standard library is used
(http.server, http.client): the router must start wherever Python does, with
nothing installed, which is why it exists beside HAProxy.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from stagewise.tiers.resilience.forwarding import (
    CHUNK,
    LAST_CHUNK,
    BadRequestBody,
    body_framing,
    chunk,
    end_to_end,
    request_headers,
)

#: Seconds a client connection may sit idle (or stall mid-body) before the router drops it.
CLIENT_TIMEOUT = 10.0


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
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler(router))
    server.daemon_threads = True
    return server


def _handler(router: Router) -> type[http.server.BaseHTTPRequestHandler]:
    class ProxyHandler(http.server.BaseHTTPRequestHandler):
        """One client connection: requests forwarded one after another (HTTP/1.1 keep-alive)."""

        protocol_version = "HTTP/1.1"
        timeout = CLIENT_TIMEOUT  # an idle or stalled client is dropped (HAProxy's ``timeout client``)

        def _proxy(self) -> None:
            if self.path == "/__router":
                self._answer(200, router.status())
                return
            try:
                framing, body = body_framing(self.headers, self.rfile)
            except BadRequestBody as exc:
                self._answer(exc.status, {"error": str(exc)})
                return
            self._dispatch(framing, body)

        def _dispatch(self, framing: list[tuple[str, str]], body: Iterator[bytes] | None) -> None:
            """Forward to the region the router picks; on a refused connection, to the next one."""
            location = self.headers.get("X-Client-Region")
            tried: set[str] = set()
            while True:
                backend = router.pick(location, tried)
                if backend is None:
                    self._answer(503, {"error": "no healthy region"})
                    return
                tried.add(backend.name)
                connection = http.client.HTTPConnection(
                    *backend.address, timeout=router.config.upstream_timeout
                )
                try:
                    try:
                        connection.connect()
                    except ConnectionRefusedError:
                        # Nothing reached the region, the body is still unread: safe to try another.
                        if router.config.redispatch:
                            continue
                        self._answer(502, {"error": "region refused the connection"}, backend.name)
                        return
                    self._forward(connection, backend.name, framing, body)
                    return
                except BadRequestBody as exc:
                    self._answer(exc.status, {"error": str(exc)})
                    return
                except (OSError, http.client.HTTPException) as exc:
                    timed_out = isinstance(exc, TimeoutError)
                    error = {"error": f"region {'timed out' if timed_out else 'failed'}"}
                    self._answer(504 if timed_out else 502, error, backend.name)
                    return
                finally:
                    connection.close()

        def _forward(
            self,
            connection: http.client.HTTPConnection,
            backend: str,
            framing: list[tuple[str, str]],
            body: Iterator[bytes] | None,
        ) -> None:
            """Send the request on ``connection`` and relay the answer, both streamed."""
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            host = f"{connection.host}:{connection.port}"
            for name, value in request_headers(
                self.headers, self.client_address[0], self.request_version, host
            ):
                connection.putheader(name, value)
            for name, value in framing:
                connection.putheader(name, value)
            connection.endheaders()
            chunked = ("Transfer-Encoding", "chunked") in framing
            cut = False
            try:
                for piece in body or ():
                    connection.send(chunk(piece) if chunked else piece)
                if chunked:
                    connection.send(LAST_CHUNK)
            except OSError:
                # The region stopped reading (it may have answered early, a 401 say): relay
                # its answer if there is one, then close this client connection.
                cut = self.close_connection = True
            try:
                response = connection.getresponse()
            finally:
                if cut and body is not None:
                    _drain(body, time.monotonic() + CLIENT_TIMEOUT)
            self._relay(response, backend)

        def _relay(self, response: http.client.HTTPResponse, backend: str) -> None:
            no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
            self.send_response_only(response.status, response.reason)
            for name, value in end_to_end(response.getheaders()):
                self.send_header(name, value)
            self.send_header("X-Routed-To", backend)
            length = response.getheader("Content-Length")
            if no_body:
                if length is not None and self.command == "HEAD":
                    self.send_header("Content-Length", length)  # what a GET would carry
            elif not response.chunked and response.length is not None:
                self.send_header("Content-Length", str(response.length))
            elif self.request_version >= "HTTP/1.1":
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.close_connection = True  # an HTTP/1.0 client: the close ends the body
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if no_body:
                return
            framed = self.request_version >= "HTTP/1.1" and (response.chunked or response.length is None)
            try:
                while piece := response.read1(CHUNK):
                    self.wfile.write(chunk(piece) if framed else piece)
                if framed:
                    self.wfile.write(LAST_CHUNK)
            except (OSError, http.client.HTTPException):
                self.close_connection = True  # the answer is cut short: the client must see the close

        def _answer(self, status: int, payload: dict[str, Any], backend: str | None = None) -> None:
            """The router's own answer (JSON); the connection closes after it, as it always did."""
            data = json.dumps(payload).encode()
            self.close_connection = True
            try:
                self.send_response_only(status)
                self.send_header("Content-Type", "application/json")
                if backend is not None:
                    self.send_header("X-Routed-To", backend)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            except OSError:
                pass  # the client is gone; nobody to tell

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _proxy

        def log_message(self, format: str, *args: object) -> None:
            return None

    return ProxyHandler


def _drain(body: Iterator[bytes], deadline: float) -> None:
    """Read and drop the rest of a client's body (until ``deadline``), so it gets to read the answer.

    A client still sending when the connection closes gets a reset instead of
    the answer; HAProxy and nginx read on for a while (a "lingering close")
    for the same reason.
    """
    with contextlib.suppress(BadRequestBody):
        for _piece in body:
            if time.monotonic() > deadline:
                return


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
