"""A small HTTP client for the probes: any method, raw answers, no proxy, no redirects.

The passive and fuzz probes need to see exactly what the target sends —
an error status is evidence, not an exception, and a redirect is a response
of its own — so this wraps :mod:`urllib.request` with redirects and proxies
turned off. The standard library keeps the tier free of another dependency
and keeps ``stagewise --help`` fast (imported only when the tier runs).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message

MAX_BODY = 256 * 1024


class Unreachable(Exception):
    """The request got no HTTP answer at all (refused, reset, timed out)."""


@dataclass(frozen=True)
class Answer:
    """One HTTP response as the probes judge it."""

    method: str
    url: str
    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    def all_headers(self, name: str) -> list[str]:
        return [str(v) for v in self.headers.get_all(name) or []]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def where(self) -> str:
        return f"{self.method} {self.url}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
) -> Answer:
    """Send one request and return the answer, whatever its status; :class:`Unreachable` if none."""
    if not url.startswith(("http://", "https://")):
        raise Unreachable(f"{method} {url}: only http(s) URLs are probed")
    # http(s) only, checked above: no file: or custom schemes reach the opener.
    prepared = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))  # noqa: S310
    try:
        with _OPENER.open(prepared, timeout=timeout) as response:
            return Answer(method, url, response.status, response.headers, response.read(MAX_BODY))
    except urllib.error.HTTPError as exc:
        try:
            content = exc.read(MAX_BODY)
        except OSError:
            content = b""
        finally:
            exc.close()
        return Answer(method, url, exc.code, exc.headers, content)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"{method} {url}: {reason}") from exc


__all__ = ["MAX_BODY", "Answer", "Unreachable", "request"]
