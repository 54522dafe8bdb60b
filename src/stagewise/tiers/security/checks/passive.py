"""Passive HTTP checks: what the target's ordinary answers give away or leave open.

Passive means no attack payloads: ordinary requests (the root and the
configured paths, the same-origin pages a bounded crawl finds from them —
:mod:`stagewise.tiers.security.crawl` —, the OpenAPI's GET routes, a path that
does not exist, one cross-origin request, one TRACE) and a look at what comes
back. Most checks judge successful answers; when no answer was 2xx and nothing
was found, the check judged nothing and says so (``not run``, with the
statuses seen), never ``passed``:

==========================  ========  ===============================================
id                          severity  seen when
==========================  ========  ===============================================
SW-CORS-CREDENTIALS         high      ``Access-Control-Allow-Origin: *`` with credentials
SW-CORS-REFLECTED           high      any Origin echoed back, with credentials
SW-CORS-REFLECTED-ORIGIN    medium    any Origin echoed back, without credentials
SW-STACK-TRACE              medium    a stack trace in a response body
SW-TRACE-ENABLED            medium    TRACE answered 200 with the request echoed
SW-DIRECTORY-LISTING        medium    an auto-generated directory index
SW-HEADER-CLICKJACKING      medium    an HTML page without X-Frame-Options or frame-ancestors
SW-HEADER-CSP               medium    an HTML page without Content-Security-Policy
SW-HEADER-NOSNIFF           low       no ``X-Content-Type-Options: nosniff``
SW-HEADER-REFERRER          low       an HTML page without Referrer-Policy
SW-HEADER-HSTS              low       an https target without Strict-Transport-Security
SW-COOKIE-*                 low/med   a cookie without HttpOnly, Secure (https) or SameSite
SW-BANNER-VERSION           low       Server/X-Powered-By naming a version
==========================  ========  ===============================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from stagewise.tiers.security.checks.base import CheckContext
from stagewise.tiers.security.crawl import crawl
from stagewise.tiers.security.evidence import excerpt, stack_trace_finding
from stagewise.tiers.security.findings import CheckOutcome, CheckStatus, Finding, outcome_from
from stagewise.tiers.security.http import Answer, Unreachable, request
from stagewise.tiers.security.openapi import operations, path_for

PROBE_ORIGIN = "https://stagewise-probe.invalid"
#: A path parameter value no route expects: a handler that trusts its input fails on it.
PROBE_SEGMENT = "stagewise-probe%27%22%3C"
DIRECTORY_CANDIDATES = ("/", "/static/", "/files/", "/uploads/", "/assets/", "/media/")
MAX_GET_ROUTES = 30
_VERSION = re.compile(r"\d+\.\d+")
_LISTING = re.compile(r"<title>\s*(Index of /|Directory listing for /)", re.IGNORECASE)
_SESSIONISH = re.compile(r"sess|sid|token|auth|login", re.IGNORECASE)


def _is_html(answer: Answer) -> bool:
    return "html" in (answer.header("Content-Type") or "").lower()


def _finding(  # noqa: PLR0917 - a finding's fields, in the order Finding declares them
    id_: str, title: str, severity: str, answer: Answer, evidence: str, fix: str
) -> Finding:
    return Finding(id_, title, severity, "passive", answer.where(), evidence, fix)


def header_findings(answers: Iterable[Answer], https: bool) -> list[Finding]:
    """Missing security headers, judged on successful answers (HTML ones for the page headers)."""
    found: dict[str, Finding] = {}
    for answer in answers:
        if not 200 <= answer.status < 300:
            continue
        if (answer.header("X-Content-Type-Options") or "").strip().lower() != "nosniff":
            found.setdefault(
                "SW-HEADER-NOSNIFF",
                _finding(
                    "SW-HEADER-NOSNIFF",
                    "X-Content-Type-Options: nosniff is missing",
                    "low",
                    answer,
                    f"X-Content-Type-Options: {answer.header('X-Content-Type-Options')!r}",
                    "send X-Content-Type-Options: nosniff on every response",
                ),
            )
        if https and not answer.header("Strict-Transport-Security"):
            found.setdefault(
                "SW-HEADER-HSTS",
                _finding(
                    "SW-HEADER-HSTS",
                    "Strict-Transport-Security is missing on an https target",
                    "low",
                    answer,
                    "no Strict-Transport-Security header",
                    "send Strict-Transport-Security: max-age=31536000; includeSubDomains",
                ),
            )
        if _is_html(answer):
            found.update({f.id: f for f in _page_headers(answer) if f.id not in found})
    return list(found.values())


def _page_headers(answer: Answer) -> list[Finding]:
    csp = answer.header("Content-Security-Policy") or ""
    findings = []
    if not answer.header("X-Frame-Options") and "frame-ancestors" not in csp:
        findings.append(
            _finding(
                "SW-HEADER-CLICKJACKING",
                "HTML page can be framed by any site (clickjacking)",
                "medium",
                answer,
                "no X-Frame-Options and no Content-Security-Policy frame-ancestors",
                "send X-Frame-Options: DENY or Content-Security-Policy: frame-ancestors 'none'",
            )
        )
    if not csp:
        findings.append(
            _finding(
                "SW-HEADER-CSP",
                "HTML page without a Content-Security-Policy",
                "medium",
                answer,
                "no Content-Security-Policy header",
                "send a Content-Security-Policy, e.g. default-src 'self'; frame-ancestors 'none'",
            )
        )
    if not answer.header("Referrer-Policy"):
        findings.append(
            _finding(
                "SW-HEADER-REFERRER",
                "HTML page without a Referrer-Policy",
                "low",
                answer,
                "no Referrer-Policy header",
                "send Referrer-Policy: strict-origin-when-cross-origin (or no-referrer)",
            )
        )
    return findings


def cookie_findings(answers: Iterable[Answer], https: bool) -> list[Finding]:
    """Cookie flags: HttpOnly, SameSite, and Secure on https targets."""
    found: dict[tuple[str, str], Finding] = {}
    for answer in answers:
        for raw in answer.all_headers("Set-Cookie"):
            name = raw.split("=", 1)[0].strip()
            flags = {part.strip().split("=", 1)[0].lower() for part in raw.split(";")[1:]}
            checks = [
                (
                    "httponly",
                    "SW-COOKIE-HTTPONLY",
                    "without HttpOnly",
                    "add HttpOnly so scripts cannot read it",
                ),
                ("samesite", "SW-COOKIE-SAMESITE", "without SameSite", "add SameSite=Lax (or Strict)"),
            ]
            if https:
                checks.append(("secure", "SW-COOKIE-SECURE", "without Secure", "add Secure"))
            for flag, id_, what, fix in checks:
                if flag in flags:
                    continue
                severity = "medium" if flag != "samesite" and _SESSIONISH.search(name) else "low"
                found.setdefault(
                    (id_, name),
                    _finding(
                        id_, f"cookie {name!r} set {what}", severity, answer, f"Set-Cookie: {raw[:160]}", fix
                    ),
                )
    return list(found.values())


def banner_findings(answers: Iterable[Answer]) -> list[Finding]:
    """Server and framework versions in ``Server`` / ``X-Powered-By``."""
    found: dict[str, Finding] = {}
    for answer in answers:
        for header in ("Server", "X-Powered-By", "X-AspNet-Version"):
            value = answer.header(header)
            if value and (_VERSION.search(value) or header != "Server"):
                found.setdefault(
                    header,
                    _finding(
                        "SW-BANNER-VERSION",
                        f"{header} header discloses {value!r}",
                        "low",
                        answer,
                        f"{header}: {value}",
                        f"remove the {header} header or its version (e.g. server_tokens off, --no-server-header)",
                    ),
                )
    return list(found.values())


def cors_findings(answer: Answer) -> list[Finding]:
    """Judge the answer to a request sent with ``Origin: PROBE_ORIGIN``."""
    allow_origin = (answer.header("Access-Control-Allow-Origin") or "").strip()
    credentials = (answer.header("Access-Control-Allow-Credentials") or "").strip().lower() == "true"
    evidence = (
        f"Origin: {PROBE_ORIGIN} -> Access-Control-Allow-Origin: {allow_origin!r}, "
        f"Access-Control-Allow-Credentials: {answer.header('Access-Control-Allow-Credentials')!r}"
    )
    fix = (
        "allow a fixed list of trusted origins; never combine a wildcard or an echoed Origin with credentials"
    )
    if allow_origin == "*" and credentials:
        return [
            _finding(
                "SW-CORS-CREDENTIALS",
                "CORS allows any origin (*) together with credentials",
                "high",
                answer,
                evidence,
                fix,
            )
        ]
    if allow_origin == PROBE_ORIGIN:
        if credentials:
            title = "CORS echoes any Origin and allows credentials: any site can read authenticated data"
            return [_finding("SW-CORS-REFLECTED", title, "high", answer, evidence, fix)]
        title = "CORS echoes any Origin back"
        return [_finding("SW-CORS-REFLECTED-ORIGIN", title, "medium", answer, evidence, fix)]
    return []


def trace_finding(answer: Answer, marker: str) -> Finding | None:
    """TRACE answered with the request echoed back (cross-site tracing)."""
    if answer.status != 200 or marker not in answer.text:
        return None
    return _finding(
        "SW-TRACE-ENABLED",
        "HTTP TRACE is enabled and echoes the request",
        "medium",
        answer,
        f"TRACE -> 200 with the probe header echoed: {excerpt(answer.text, 120)}",
        "disable the TRACE method in the server or proxy (answer 405)",
    )


def listing_finding(answer: Answer) -> Finding | None:
    """An auto-generated directory index."""
    if answer.status != 200 or not _LISTING.search(answer.text[:4096]):
        return None
    return _finding(
        "SW-DIRECTORY-LISTING",
        "directory listing is enabled",
        "medium",
        answer,
        excerpt(answer.text, 160),
        "turn off directory indexes (autoindex off / no StaticFiles(html=...) listings); serve only known files",
    )


class PassiveCheck:
    """The ``passive`` check."""

    name = "passive"

    def run(self, context: CheckContext) -> CheckOutcome:
        try:
            return self._run(context)
        except Unreachable as exc:
            return CheckOutcome(self.name, CheckStatus.ERROR, reason=f"the target stopped answering: {exc}")

    def _routes(self, context: CheckContext) -> list[str]:
        """The API's GET routes (templated ones with a probe value) and a path that does not exist."""
        paths: list[str] = []
        document = context.openapi
        if document is not None:
            for operation in operations(document):
                if operation.method != "get" or operation.is_stream() or len(paths) >= MAX_GET_ROUTES:
                    continue
                if operation.name in context.config.fuzz.exclude:
                    continue
                templated = "{" in operation.path
                paths.append(path_for(document, operation, PROBE_SEGMENT) if templated else operation.path)
        paths.append("/stagewise-probe-not-found")
        return list(dict.fromkeys(paths))

    def _run(self, context: CheckContext) -> CheckOutcome:
        https = context.target.startswith("https://")
        settings = context.config.passive
        crawled = crawl(
            context.target,
            ["/", *settings.paths],
            max_pages=settings.crawl_pages,
            max_seconds=settings.crawl_seconds,
        )
        answers: list[Answer] = list(crawled.answers)
        fetched = {answer.url for answer in answers}
        for path in self._routes(context):
            if context.url(path) not in fetched:
                answers.append(request("GET", context.url(path), headers={"Accept": "*/*"}))
        findings: list[Finding] = []
        for answer in answers:
            trace = stack_trace_finding(answer, "passive", answer.where())
            if trace is not None:
                findings.append(trace)
        cross = request("GET", context.url("/"), headers={"Origin": PROBE_ORIGIN})
        answers.append(cross)
        findings += cors_findings(cross)
        marker = "stagewise-trace-probe"
        traced = request("TRACE", context.url("/"), headers={"X-Stagewise-Probe": marker})
        found_trace = trace_finding(traced, marker)
        if found_trace is not None:
            findings.append(found_trace)
        for path in dict.fromkeys((*DIRECTORY_CANDIDATES, *context.config.passive.paths)):
            listing = listing_finding(request("GET", context.url(path)))
            if listing is not None:
                findings.append(listing)
        findings += header_findings(answers, https)
        findings += cookie_findings(answers, https)
        findings += banner_findings(answers)
        context.log(f"passive: {crawled.summary()}; {len(answers) + 2} requests, {len(findings)} finding(s)")
        outcome = judged(self.name, answers, findings)
        outcome.notes.append(crawled.summary())
        return outcome


def judged(name: str, answers: Sequence[Answer], findings: list[Finding]) -> CheckOutcome:
    """The outcome, honest about answers that gave nothing to judge.

    The header, cookie and banner checks judge successful answers only: with
    no 2xx at all they looked at nothing, so an empty result is ``not run``
    (naming the statuses seen) and a result with findings is ``partial``.
    """
    if any(200 <= answer.status < 300 for answer in answers):
        return outcome_from(name, findings)
    statuses = ", ".join(f"{a.where()} -> {a.status}" for a in list(answers)[:4])
    more = f" (+{len(answers) - 4} more)" if len(answers) > 4 else ""
    reason = (
        f"no answer was 2xx ({statuses}{more}): nothing to judge the headers on; "
        "point security.passive.paths at pages that exist"
    )
    if not findings:
        return CheckOutcome(name, CheckStatus.NOT_RUN, reason=reason)
    return outcome_from(name, findings, reason, partial=True)


__all__ = [
    "PassiveCheck",
    "banner_findings",
    "cookie_findings",
    "cors_findings",
    "header_findings",
    "judged",
    "listing_finding",
    "trace_finding",
]
