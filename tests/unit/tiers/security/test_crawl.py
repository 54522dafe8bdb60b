"""The bounded same-origin crawl, and the passive check that judges what it finds (real servers)."""

from __future__ import annotations

import sys
from pathlib import Path

from stagewise.project.security import PassiveConfig, SecurityConfig
from stagewise.tiers.security.checks.base import CheckContext
from stagewise.tiers.security.checks.passive import PassiveCheck
from stagewise.tiers.security.crawl import crawl, origin
from stagewise.tiers.security.findings import CheckStatus
from tests.unit.tiers.security.conftest import Page, SiteFactory

TRACE = 'Traceback (most recent call last):\n  File "/srv/app/views.py", line 12, in report\nKeyError: "x"'


def _context(target: str, tmp_path: Path, passive: PassiveConfig | None = None) -> CheckContext:
    config = SecurityConfig(checks=("passive",), passive=passive or PassiveConfig())
    return CheckContext(
        root=tmp_path,
        target=target,
        config=config,
        tool_python=sys.executable,
        project_python=sys.executable,
        source_paths=(),
        env={},
        out_dir=tmp_path,
        log=lambda line: None,
    )


def test_origin_fills_default_ports_and_rejects_other_schemes() -> None:
    assert origin("http://Example.com/x") == ("http", "example.com", 80)
    assert origin("https://example.com:8443") == ("https", "example.com", 8443)
    assert origin("mailto:a@example.com") is None
    assert origin("javascript:alert(1)") is None


def test_links_forms_and_redirects_are_followed_within_the_origin(site: SiteFactory) -> None:
    elsewhere = site({"/": Page("<a href='/secret'>x</a>")})
    home = site(
        {
            "/": Page(
                "<a href='/about#team'>about</a> <a href='report?id=1'>report</a>"
                f"<a href='{elsewhere.url}/'>partner</a> <a href='mailto:a@b.c'>mail</a>"
                "<form action='/search' method='post'><input name=q></form>"
                "<a href='/old'>old</a> <a href='//127.0.0.1:1/x'>other port</a>"
            ),
            "/about": Page("<a href='/'>home</a>"),
            "/report?id=1": Page(TRACE, 500, {"Content-Type": "text/plain"}),
            "/search": Page("results"),
            "/old": Page("", 301, {"Location": "/new"}),
            "/new": Page("moved here"),
        }
    )
    result = crawl(home.url, ["/"], max_pages=50, max_seconds=20)
    assert [a.url.removeprefix(home.url) for a in result.answers] == [
        "/",
        "/about",
        "/report?id=1",
        "/search",
        "/old",
        "/new",
    ]
    assert elsewhere.requested == []  # the crawl never leaves the target
    assert result.stopped == ""
    assert result.summary() == "crawled 6 page(s)"


def test_the_page_limit_bounds_the_crawl(site: SiteFactory) -> None:
    links = "".join(f"<a href='/p/{i}'>{i}</a>" for i in range(100))
    home = site({"/": Page(links), **{f"/p/{i}": Page("leaf") for i in range(100)}})
    result = crawl(home.url, ["/"], max_pages=10, max_seconds=20)
    assert len(result.answers) == 10
    assert len(home.requested) == 10
    assert result.summary() == "crawled 10 page(s) (stopped: page limit 10 reached; 91 link(s) not followed)"


def test_the_time_limit_bounds_the_crawl(site: SiteFactory) -> None:
    links = "".join(f"<a href='/slow/{i}'>{i}</a>" for i in range(20))
    home = site({"/": Page(links), **{f"/slow/{i}": Page("slow", delay=0.3) for i in range(20)}})
    result = crawl(home.url, ["/"], max_pages=50, max_seconds=1.0)
    assert 2 <= len(result.answers) <= 6
    assert result.stopped == "time limit 1s reached"


def test_the_configured_paths_are_always_fetched_even_with_the_crawl_off(site: SiteFactory) -> None:
    home = site({"/": Page("<a href='/linked'>x</a>"), "/admin/": Page("admin")})
    result = crawl(home.url, ["/", "/admin/"], max_pages=0, max_seconds=20)
    assert home.requested == ["/", "/admin/"]
    assert result.stopped == "crawl off"


def test_passive_finds_a_stack_trace_on_a_page_linked_from_the_root(
    site: SiteFactory, tmp_path: Path
) -> None:
    home = site(
        {"/": Page("<a href='/reports/daily'>daily</a>"), "/reports/daily": Page(f"<pre>{TRACE}</pre>")}
    )
    outcome = PassiveCheck().run(_context(home.url, tmp_path))
    [trace] = [f for f in outcome.findings if f.id == "SW-STACK-TRACE"]
    assert trace.location == f"GET {home.url}/reports/daily"
    assert trace.title == "Python stack trace in an HTTP 200 response body"
    assert "crawled 2 page(s)" in outcome.notes
    off = PassiveCheck().run(_context(home.url, tmp_path, PassiveConfig(crawl_pages=0)))
    assert not [f for f in off.findings if f.id == "SW-STACK-TRACE"]  # without the crawl it is never seen


def test_passive_with_no_2xx_answer_is_not_run_with_the_statuses(site: SiteFactory, tmp_path: Path) -> None:
    home = site({})  # every path: 404
    outcome = PassiveCheck().run(_context(home.url, tmp_path))
    assert outcome.status is CheckStatus.NOT_RUN
    assert outcome.reason.startswith(f"no answer was 2xx (GET {home.url}/ -> 404, ")
    assert outcome.reason.endswith(
        "nothing to judge the headers on; point security.passive.paths at pages that exist"
    )
    assert outcome.describe().startswith("passive: not run (no answer was 2xx")


def test_passive_with_findings_but_no_2xx_is_partial(site: SiteFactory, tmp_path: Path) -> None:
    home = site({"/": Page(TRACE, 500, {"Content-Type": "text/plain"})})
    outcome = PassiveCheck().run(_context(home.url, tmp_path))
    assert outcome.status is CheckStatus.PARTIAL
    assert [f.id for f in outcome.findings] == ["SW-STACK-TRACE"]
    assert "(partial: no answer was 2xx" in outcome.describe()
