"""The probes' and health waits' HTTP client: one JSON request, no proxies, no dependencies."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


def http_json(
    method: str,
    url: str,
    body: object | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 2.0,
) -> tuple[int, dict[str, object], dict[str, str]]:
    """One HTTP request with a JSON body; (status, JSON answer, headers). Raises OSError when unreachable."""
    parts = urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, parts.path or "/", body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"text": raw[:200].decode(errors="replace")}
        return response.status, payload if isinstance(payload, dict) else {}, dict(response.getheaders())
    except http.client.HTTPException as exc:
        raise OSError(str(exc)) from exc
    finally:
        connection.close()


__all__ = ["http_json"]
