"""A bounded same-origin crawl: the pages the passive checks judge besides the ones they were told.

Without a crawl the passive checks see the root, the configured paths and the
API's GET routes, so a page linked from the root that leaks a stack trace is
never looked at unless a ZAP daemon spiders the site. This follows what an
ordinary visitor can follow — ``<a href>``, ``<area href>``, ``<form action>``,
``<iframe src>`` and redirects (``Location``) — breadth first, with three
bounds so it always ends and never strays:

- **same origin only**: scheme, host and port equal to the target's; any
  other link is dropped before a request is made (the crawl never leaves
  the target);
- **a page limit** (``security.passive.crawl_pages``, default 50 requests);
- **a time limit** (``security.passive.crawl_seconds``, default 20 s).

Only ``GET`` is sent (a form's action is fetched, never submitted), through
:mod:`stagewise.tiers.security.http`, so redirects and error pages are seen
as the answers they are. HTML is parsed with :mod:`html.parser` from the
standard library: tolerant of broken markup, and no dependency.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from stagewise.tiers.security.http import Answer, Unreachable, request

ACCEPT = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"
_LINK_ATTRIBUTES = {"a": "href", "area": "href", "form": "action", "iframe": "src", "frame": "src"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL, the port filled in; ``None`` for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]


class _Links(HTMLParser):
    """Collects link targets and the ``<base href>`` of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
            return
        wanted = _LINK_ATTRIBUTES.get(tag)
        value = values.get(wanted) if wanted else None
        if value and value.strip():
            self.links.append(value.strip())


def links_in(answer: Answer) -> list[str]:
    """Absolute URLs (fragment dropped) that ``answer`` points at: its redirect and, for HTML, its links."""
    found: list[str] = []
    location = answer.header("Location")
    if 300 <= answer.status < 400 and location:
        found.append(urljoin(answer.url, location.strip()))
    if "html" in (answer.header("Content-Type") or "").lower():
        parser = _Links()
        try:
            parser.feed(answer.text)
            parser.close()
        except (AssertionError, ValueError):  # html.parser gives up on some broken markup: keep what it read
            pass
        base = urljoin(answer.url, parser.base) if parser.base else answer.url
        found += [urljoin(base, link) for link in parser.links]
    return [urldefrag(url)[0] for url in found]


@dataclass
class Crawl:
    """What the crawl fetched, in order, and why it stopped early (empty: it ran out of links)."""

    answers: list[Answer] = field(default_factory=list)
    stopped: str = ""
    left_out: int = 0  # links seen but not fetched (limits) — for the note
    unreachable: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """``crawled 12 page(s) (stopped: page limit 50 reached; 30 link(s) not followed)``."""
        text = f"crawled {len(self.answers)} page(s)"
        details = [f"stopped: {self.stopped}"] if self.stopped else []
        if self.left_out:
            details.append(f"{self.left_out} link(s) not followed")
        if self.unreachable:
            details.append(f"{len(self.unreachable)} did not answer")
        return text + (f" ({'; '.join(details)})" if details else "")


def crawl(target: str, starts: Sequence[str], *, max_pages: int, max_seconds: float) -> Crawl:
    """GET ``starts`` (paths on ``target``), then same-origin links breadth first, within the limits.

    The starts are always fetched (they are what the project asked for); the
    limits bound what is found beyond them. Raises :class:`Unreachable` only
    when the first start gets no answer at all (the target is gone).
    """
    home = origin(target)
    result = Crawl()
    queue = deque(dict.fromkeys(target + path for path in starts))
    required = len(queue)
    seen = set(queue)
    deadline = time.monotonic() + max_seconds
    while queue:
        fetched = len(result.answers) + len(result.unreachable)
        if fetched >= required:
            if fetched >= max_pages:
                result.stopped = f"page limit {max_pages} reached" if max_pages else "crawl off"
                break
            if time.monotonic() >= deadline:
                result.stopped = f"time limit {max_seconds:g}s reached"
                break
        url = queue.popleft()
        remaining = max(deadline - time.monotonic(), 1.0)
        try:
            answer = request("GET", url, headers={"Accept": ACCEPT}, timeout=min(10.0, remaining))
        except Unreachable:
            if not result.answers and not result.unreachable:
                raise
            result.unreachable.append(url)
            continue
        result.answers.append(answer)
        for link in links_in(answer):
            if link not in seen and origin(link) == home:
                seen.add(link)
                queue.append(link)
    result.left_out = len(queue)
    return result


__all__ = ["ACCEPT", "Crawl", "crawl", "links_in", "origin"]
