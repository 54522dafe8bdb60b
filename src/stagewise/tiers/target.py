"""Check that something answers at a tier's target URL before tests hit it."""

from __future__ import annotations

import re

from stagewise.errors import MissingError, UsageError

_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/\S*)?$")


def validate_url(url: str, flag: str = "--host") -> str:
    """Return ``url`` without a trailing slash, or raise a usage error."""
    if not _URL.match(url):
        raise UsageError(f"{flag} {url!r} is not an http(s) URL (e.g. http://127.0.0.1:8000)")
    return url.rstrip("/")


def check_reachable(url: str, health_path: str, start_hint: str | None, timeout: float = 3.0) -> None:
    """Raise :class:`MissingError` (exit 4) unless an HTTP server answers at ``url``.

    Any HTTP response counts, even an error status: the question is whether
    the service is up, and its tests will judge its answers.
    """
    # Imported here: urllib.request costs ~20 ms, and only target tiers need it.
    import urllib.error
    import urllib.request

    # No proxy, ever: a target on loopback must not be sent through one.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    probe = url + health_path
    try:
        with opener.open(probe, timeout=timeout) as response:
            response.read(1)
        return
    except urllib.error.HTTPError:
        return
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        how = f"start it with `{start_hint}`" if start_hint else "start the service"
        raise MissingError(
            f"nothing answers at {url} ({reason}): {how}, or point --host at a running instance"
        ) from exc
