"""The passive HTTP checks judge real answers from real servers on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stagewise.tiers.security.checks.passive import (
    PROBE_ORIGIN,
    banner_findings,
    cookie_findings,
    cors_findings,
    header_findings,
    listing_finding,
    trace_finding,
)
from stagewise.tiers.security.evidence import stack_trace_kind
from stagewise.tiers.security.http import Unreachable, request
from tests.helpers import free_port

Headers = list[tuple[str, str]]


@pytest.fixture
def serve() -> Iterator[Callable[[Headers, bytes], str]]:
    """Start a server answering every GET/TRACE with the given headers and body; returns its URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(headers: Headers, body: bytes = b"<html><title>x</title></html>") -> str:
        server_header = dict(headers).get("Server", "stagewise-test")

        class Handler(http.server.BaseHTTPRequestHandler):
            def version_string(self) -> str:
                return server_header  # the stdlib sends its own Server header; this replaces it

            def do_GET(self) -> None:
                self.send_response(200)
                for name, value in headers:
                    if name != "Server":
                        self.send_header(
                            name, self.headers.get("Origin", "") if value == "$ORIGIN" else value
                        )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_TRACE(self) -> None:
                echo = f"TRACE {self.path} HTTP/1.1\r\n{self.headers}".encode()
                self.send_response(200)
                self.send_header("Content-Type", "message/http")
                self.send_header("Content-Length", str(len(echo)))
                self.end_headers()
                self.wfile.write(echo)

            def log_message(self, format: str, *args: object) -> None:
                return None

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_wildcard_cors_with_credentials_is_high(serve: Callable[[Headers, bytes], str]) -> None:
    url = serve([("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")], b"{}")
    [finding] = cors_findings(request("GET", url + "/", headers={"Origin": PROBE_ORIGIN}))
    assert (finding.id, finding.severity) == ("SW-CORS-CREDENTIALS", "high")


def test_an_echoed_origin_is_reported_with_or_without_credentials(
    serve: Callable[[Headers, bytes], str],
) -> None:
    with_credentials = serve(
        [("Access-Control-Allow-Origin", "$ORIGIN"), ("Access-Control-Allow-Credentials", "true")], b""
    )
    without = serve([("Access-Control-Allow-Origin", "$ORIGIN")], b"")
    [high] = cors_findings(request("GET", with_credentials + "/", headers={"Origin": PROBE_ORIGIN}))
    [medium] = cors_findings(request("GET", without + "/", headers={"Origin": PROBE_ORIGIN}))
    assert (high.id, high.severity) == ("SW-CORS-REFLECTED", "high")
    assert (medium.id, medium.severity) == ("SW-CORS-REFLECTED-ORIGIN", "medium")


def test_a_fixed_trusted_origin_is_fine(serve: Callable[[Headers, bytes], str]) -> None:
    url = serve(
        [
            ("Access-Control-Allow-Origin", "https://shop.example"),
            ("Access-Control-Allow-Credentials", "true"),
        ],
        b"",
    )
    assert cors_findings(request("GET", url + "/", headers={"Origin": PROBE_ORIGIN})) == []


def test_an_html_page_without_security_headers(serve: Callable[[Headers, bytes], str]) -> None:
    url = serve([("Content-Type", "text/html")], b"<html></html>")
    found = {f.id: f.severity for f in header_findings([request("GET", url + "/")], https=False)}
    assert found == {
        "SW-HEADER-NOSNIFF": "low",
        "SW-HEADER-CLICKJACKING": "medium",
        "SW-HEADER-CSP": "medium",
        "SW-HEADER-REFERRER": "low",
    }


def test_a_hardened_page_has_no_header_findings(serve: Callable[[Headers, bytes], str]) -> None:
    headers = [
        ("Content-Type", "text/html"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
        ("Referrer-Policy", "no-referrer"),
    ]
    url = serve(headers, b"<html></html>")
    assert header_findings([request("GET", url + "/")], https=False) == []


def test_cookie_flags_and_version_banners(serve: Callable[[Headers, bytes], str]) -> None:
    url = serve(
        [("Set-Cookie", "session=abc; Path=/"), ("Server", "nginx/1.18.0"), ("X-Powered-By", "PHP/8.1")], b""
    )
    answers = [request("GET", url + "/")]
    cookies = {(f.id, f.severity) for f in cookie_findings(answers, https=True)}
    assert cookies == {
        ("SW-COOKIE-HTTPONLY", "medium"),
        ("SW-COOKIE-SAMESITE", "low"),
        ("SW-COOKIE-SECURE", "medium"),
    }
    banners = sorted(f.title for f in banner_findings(answers))
    assert banners == ["Server header discloses 'nginx/1.18.0'", "X-Powered-By header discloses 'PHP/8.1'"]


def test_trace_that_echoes_the_request_is_found(serve: Callable[[Headers, bytes], str]) -> None:
    url = serve([], b"")
    answer = request("TRACE", url + "/", headers={"X-Stagewise-Probe": "marker-123"})
    finding = trace_finding(answer, "marker-123")
    assert finding is not None
    assert finding.id == "SW-TRACE-ENABLED"


def test_trace_refused_is_fine(tmp_path: Path) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert trace_finding(request("TRACE", url + "/", headers={"X-Stagewise-Probe": "m"}), "m") is None
        (tmp_path / "a.txt").write_text("a")
        listing = listing_finding(request("GET", url + "/"))  # no index.html: the stdlib lists the folder
        assert listing is not None
        assert listing.id == "SW-DIRECTORY-LISTING"
        (tmp_path / "index.html").write_text("<html><title>home</title></html>")
        assert listing_finding(request("GET", url + "/")) is None
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ('Traceback (most recent call last):\n  File "/app/x.py", line 3, in <module>\n', "Python"),
        (
            'Exception in thread "main" java.lang.NullPointerException\n\tat com.shop.App.main(App.java:14)',
            "Java",
        ),
        ("TypeError: x is undefined\n    at handler (/srv/app/index.js:10:5)", "Node.js"),
        ("goroutine 1 [running]:\nmain.main()", "Go"),
        ('<div class="traceback-container"><p class="frame-filename">app.py</p>', "Python"),
        ('{"error": "not_found", "detail": "product 7 not found"}', None),
        ("<html><body>File a bug at line 3</body></html>", None),
    ],
)
def test_stack_traces_are_recognised_and_ordinary_bodies_are_not(body: str, kind: str | None) -> None:
    assert stack_trace_kind(body) == kind


def test_a_port_nothing_listens_on_is_unreachable_not_an_answer() -> None:
    with pytest.raises(Unreachable, match=r"GET http://127\.0\.0\.1"):
        request("GET", f"http://127.0.0.1:{free_port()}/", timeout=2)
