"""The builtin router as a reverse proxy: every method, every end-to-end header, bodies streamed.

Everything is real and on 127.0.0.1: a bearer-token service (an HTTP server
that refuses writes without ``Authorization: Bearer TOKEN`` and records what
reached it), the router in front of it (in this process, or as its own
process where its memory is measured), and http.client or a raw socket as
the client. Cheap enough for the unit tier: no namespace, no database.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stagewise.tiers.resilience.router import Router, RouterConfig, make_server

TOKEN = "s3cret-token"  # noqa: S105 - a throwaway token for the test's own service
WRITES = ("POST", "PUT", "PATCH", "DELETE")
#: 64 KiB of a fixed pattern: big bodies are this, repeated.
PIECE = bytes(range(256)) * 256


@dataclass
class Seen:
    """One request as the service received it."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    length: int
    sha256: str

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class Service:
    url: str
    port: int
    seen: list[Seen] = field(default_factory=list)


def read_body(handler: http.server.BaseHTTPRequestHandler) -> tuple[int, str]:
    """The request body's length and SHA-256, read in pieces (chunked decoded by hand here)."""
    digest, total = hashlib.sha256(), 0
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        while size := int(handler.rfile.readline().split(b";")[0], 16):
            data = handler.rfile.read(size)
            digest.update(data)
            total += len(data)
            handler.rfile.readline()
        while handler.rfile.readline() not in (b"\r\n", b""):
            pass
    else:
        left = int(handler.headers.get("Content-Length") or 0)
        while left:
            data = handler.rfile.read(min(left, 65536))
            digest.update(data)
            total += len(data)
            left -= len(data)
    return total, digest.hexdigest()


@contextlib.contextmanager
def bearer_service() -> Iterator[Service]:
    """A JSON service on 127.0.0.1 that refuses writes without the bearer token."""
    service = Service("", 0)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self) -> None:
            authorized = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            if self.path.startswith("/strict") and not authorized:
                # Refused before the body is read, and the connection closed on the unread rest.
                self.reply(401, {"error": "bearer token required"}, [("Connection", "close")])
                return
            length, sha = read_body(self)
            service.seen.append(Seen(self.command, self.path, list(self.headers.items()), length, sha))
            if self.path.startswith("/big"):
                self.stream_big()
                return
            if self.command in WRITES and not authorized:
                self.reply(401, {"error": "bearer token required"}, [("WWW-Authenticate", "Bearer")])
                return
            if self.command == "OPTIONS":
                self.reply(204, None, [("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")])
            elif self.command == "DELETE":
                self.reply(204, None, [])
            elif self.command in ("POST", "PUT", "PATCH"):
                status = 201 if self.command == "POST" else 200
                self.reply(status, {"received": length, "sha256": sha}, [("Location", "/items/1")])
            else:  # GET and HEAD: the same headers, HEAD without the body
                headers = [
                    ("Set-Cookie", "a=1; Path=/"),
                    ("Set-Cookie", "b=2; Path=/"),
                    ("X-Service", "bearer"),
                    ("ETag", '"v1"'),
                    ("Keep-Alive", "timeout=5"),  # hop-by-hop: must not reach the client
                    ("Connection", "X-Internal"),
                    ("X-Internal", "named in Connection: hop-by-hop too"),
                ]
                self.reply(200, {"id": 1, "path": self.path}, headers)

        def reply(self, status: int, payload: object, headers: list[tuple[str, str]]) -> None:
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def stream_big(self) -> None:
            """``/big?pieces=N&chunked=0|1``: N pieces of PIECE, chunked or with a Content-Length."""
            query = dict(part.split("=") for part in self.path.split("?", 1)[1].split("&"))
            pieces, chunked = int(query["pieces"]), query["chunked"] == "1"
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(pieces * len(PIECE)))
            self.end_headers()
            for _ in range(pieces):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(PIECE), PIECE) if chunked else PIECE)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_any

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    service.port = server.server_address[1]
    service.url = f"http://127.0.0.1:{service.port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def backends(*urls: str) -> list[dict[str, Any]]:
    return [{"name": f"r{i}", "url": url, "weight": 1, "location": f"l{i}"} for i, url in enumerate(urls)]


@contextlib.contextmanager
def router_in_front(*urls: str) -> Iterator[int]:
    """The builtin router (in this process) in front of ``urls``; yields its port."""
    server = make_server(Router(RouterConfig(backends=backends(*urls), health_check=False)), 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def proxied() -> Iterator[tuple[Service, int]]:
    with bearer_service() as service, router_in_front(service.url) as port:
        yield service, port


def client_headers(token: bool) -> dict[str, str]:
    headers = {
        "X-Request-Id": "req-42",
        "Accept": "application/json",
        "Cookie": "session=abc",
        "X-Forwarded-For": "203.0.113.7",
        "Keep-Alive": "timeout=30",
        "TE": "trailers",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "named in Connection",
    }
    if token:
        headers["Authorization"] = f"Bearer {TOKEN}"
    return headers


EXPECTED = {"GET": 200, "HEAD": 200, "OPTIONS": 204, "POST": 201, "PUT": 200, "PATCH": 200, "DELETE": 204}


@pytest.mark.parametrize("method", list(EXPECTED))
def test_every_method_reaches_the_service_with_its_end_to_end_headers(
    proxied: tuple[Service, int], method: str
) -> None:
    service, port = proxied
    body = b'{"value": "x"}' if method in ("POST", "PUT", "PATCH") else None
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, "/items/1?q=1", body=body, headers=client_headers(token=False))
        refused = connection.getresponse()
        refused.read()
        if method in WRITES:
            assert refused.status == 401  # the service's own answer, relayed
            assert refused.getheader("WWW-Authenticate") == "Bearer"
        else:
            assert refused.status == EXPECTED[method]
        connection.request(method, "/items/1?q=1", body=body, headers=client_headers(token=True))
        response = connection.getresponse()  # the same client connection: kept alive
        data = response.read()
    finally:
        connection.close()

    assert response.status == EXPECTED[method], data
    assert response.getheader("X-Routed-To") == "r0"
    seen = service.seen[-1]
    assert (seen.method, seen.path) == (method, "/items/1?q=1")
    assert seen.header("Authorization") == [f"Bearer {TOKEN}"]
    assert seen.header("X-Request-Id") == ["req-42"]
    assert seen.header("Accept") == ["application/json"]
    assert seen.header("Cookie") == ["session=abc"]
    assert seen.header("X-Forwarded-For") == ["203.0.113.7, 127.0.0.1"]  # appended to, not replaced
    assert seen.header("X-Forwarded-Proto") == ["http"]
    assert seen.header("X-Forwarded-Host") == [f"127.0.0.1:{port}"]
    assert seen.header("Host") == [f"127.0.0.1:{port}"]  # passed unchanged, as HAProxy does
    assert seen.header("Via") == ["1.1 stagewise-router"]
    for hop in ("Keep-Alive", "TE", "Proxy-Authorization", "X-Hop", "Connection"):
        assert seen.header(hop) == [], f"{hop} is hop-by-hop and was forwarded"
    if body is not None:
        assert (seen.length, seen.sha256) == (len(body), hashlib.sha256(body).hexdigest())
        assert json.loads(data)["received"] == len(body)
        assert response.getheader("Location") == "/items/1"
    if method == "OPTIONS":
        assert response.getheader("Allow") == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    if method in ("GET", "HEAD"):
        assert response.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
        assert response.getheader("X-Service") == "bearer"
        assert response.getheader("ETag") == '"v1"'
        assert response.getheader("Keep-Alive") is None
        assert response.getheader("X-Internal") is None
        get_length = len(json.dumps({"id": 1, "path": "/items/1?q=1"}).encode())
        assert response.getheader("Content-Length") == str(get_length)
        assert data == (b"" if method == "HEAD" else json.dumps({"id": 1, "path": "/items/1?q=1"}).encode())


def test_a_head_answer_carries_no_body_so_the_next_request_on_the_connection_is_clean(
    proxied: tuple[Service, int],
) -> None:
    _, port = proxied
    with contextlib.closing(socket.create_connection(("127.0.0.1", port), timeout=5)) as raw:
        raw.sendall(b"HEAD /items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        deadline = time.monotonic() + 5
        while received.count(b"HTTP/1.1 200") < 2 or not received.endswith(b"}"):
            assert time.monotonic() < deadline, received
            received += raw.recv(65536)
    head, get = received.split(b"HTTP/1.1 200", 2)[1:]
    assert head.endswith(b"\r\n\r\n"), "bytes after a HEAD answer's headers"
    assert get.endswith(b'{"id": 1, "path": "/items/2"}')


def test_a_write_refused_before_its_body_is_read_gets_the_refusal_not_a_reset(
    proxied: tuple[Service, int],
) -> None:
    _, port = proxied
    for _ in range(3):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("PUT", "/strict/items/1", body=PIECE * 128)  # 8 MiB, more than socket buffers
            response = connection.getresponse()
            assert response.status == 401
            assert json.loads(response.read()) == {"error": "bearer token required"}
            assert response.getheader("Connection") == "close"
        finally:
            connection.close()


def test_a_refused_region_is_redispatched_with_the_body_intact() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}"  # bound, not listening: refused
        with bearer_service() as service, router_in_front(dead, service.url) as port:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            body = b"x" * 100_000
            for _ in range(2):  # one of the two picks lands on the dead region first
                connection.request("PUT", "/items/1", body=body, headers={"Authorization": f"Bearer {TOKEN}"})
                response = connection.getresponse()
                assert response.status == 200
                assert json.loads(response.read())["received"] == len(body)
                assert response.getheader("X-Routed-To") == "r1"
            connection.request("GET", "/__router")
            status = json.loads(connection.getresponse().read())
            connection.close()
    assert [b["name"] for b in status["backends"]] == ["r0", "r1"]
    assert status["backends"][1]["served"] == 2


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
        (b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        (b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ],
)
def test_a_body_the_router_cannot_frame_is_refused_not_forwarded(
    proxied: tuple[Service, int], head: bytes, status: int
) -> None:
    service, port = proxied
    with contextlib.closing(socket.create_connection(("127.0.0.1", port), timeout=5)) as raw:
        raw.sendall(head)
        answer = raw.recv(65536)
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer
    assert [s for s in service.seen if s.path == "/items"] == []


def test_an_http_1_0_client_gets_a_chunked_answer_unframed_ended_by_the_close(
    proxied: tuple[Service, int],
) -> None:
    _, port = proxied
    with contextlib.closing(socket.create_connection(("127.0.0.1", port), timeout=5)) as raw:
        raw.sendall(b"GET /big?pieces=3&chunked=1 HTTP/1.0\r\n\r\n")
        received = b""
        while piece := raw.recv(65536):
            received += piece
    head, body = received.split(b"\r\n\r\n", 1)
    assert b"transfer-encoding" not in head.lower()
    assert body == PIECE * 3


def peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def test_big_bodies_stream_through_the_router_process_in_bounded_memory(tmp_path: Path) -> None:
    """32 MiB up (chunked) and 32 MiB down (chunked, then with a length): the router's peak RSS barely moves."""
    pieces = 512  # 32 MiB
    with bearer_service() as service:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = json.dumps({"backends": backends(service.url), "health_check": False})
        argv = [
            sys.executable,
            "-m",
            "stagewise.tiers.resilience.router",
            "--port",
            str(port),
            "--config",
            config,
        ]
        with (tmp_path / "router.log").open("wb") as log:
            router = subprocess.Popen(argv, stderr=log)
        try:
            deadline = time.monotonic() + 15
            while True:
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                assert time.monotonic() < deadline, "the router did not start"
                time.sleep(0.05)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/items/1")  # warm up: every code path imported
            connection.getresponse().read()
            before = peak_rss_kib(router.pid)

            body = (PIECE for _ in range(pieces))
            connection.request("POST", "/big-upload?pieces=0&chunked=1", body=body, encode_chunked=True)
            connection.getresponse().read()
            upload = service.seen[-1]
            for chunked in ("1", "0"):
                connection.request("GET", f"/big?pieces={pieces}&chunked={chunked}")
                response = connection.getresponse()
                digest, total = hashlib.sha256(), 0
                while data := response.read1(1 << 20):
                    digest.update(data)
                    total += len(data)
                assert total == pieces * len(PIECE)
                assert digest.hexdigest() == hashlib.sha256(PIECE * pieces).hexdigest()
            connection.close()
            after = peak_rss_kib(router.pid)
        finally:
            router.terminate()
            router.wait(10)
    assert upload.header("Transfer-Encoding") == ["chunked"]
    assert (upload.length, upload.sha256) == (pieces * len(PIECE), hashlib.sha256(PIECE * pieces).hexdigest())
    grown = after - before
    print(f"router peak RSS {before} KiB before, {after} KiB after 3 x 32 MiB bodies")
    assert grown < 8 * 1024, f"router peak RSS grew {grown} KiB for 32 MiB bodies"


def test_a_hanging_region_is_a_504_and_no_region_left_a_503() -> None:
    with socket.socket() as hanging, socket.socket() as dead:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(8)  # the kernel accepts the connection; nobody ever answers
        dead.bind(("127.0.0.1", 0))  # bound, not listening: refused
        urls = [f"http://127.0.0.1:{s.getsockname()[1]}" for s in (hanging, dead)]
        for config, expected in (
            ({"backends": backends(urls[0]), "upstream_timeout": 0.3}, (504, {"error": "region timed out"})),
            ({"backends": backends(urls[1])}, (503, {"error": "no healthy region"})),
        ):
            server = make_server(Router(RouterConfig(health_check=False, **config)), 0)
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            thread.start()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
                connection.request("POST", "/kv/a", body=b"{}", headers={"Authorization": f"Bearer {TOKEN}"})
                response = connection.getresponse()
                assert (response.status, json.loads(response.read())) == expected
                assert response.getheader("Connection") == "close"
                connection.close()
            finally:
                server.shutdown()
                server.server_close()
                thread.join(5)
