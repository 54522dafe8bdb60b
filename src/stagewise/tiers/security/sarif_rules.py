"""What each rule in findings.sarif means: the description and the help link code scanning shows.

A finding carries its own title and fix; a SARIF rule needs a description of
the *kind* of problem, the same for every result of it. stagewise's own rules
(``SW-*``) are described here; the scanners' rules get their link from the
scanner's naming scheme (bandit's ``more_info``, ZAP's alert pages, OSV for an
advisory id, schemathesis's checks reference).
"""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.tiers.security.findings import Finding

_MDN = "https://developer.mozilla.org/en-US/docs/Web/HTTP"


@dataclass(frozen=True)
class RuleText:
    """A rule's one-line name, its full description, and a page that explains it ('' when none)."""

    short: str
    full: str
    help_uri: str = ""


OWN_RULES: dict[str, RuleText] = {
    "SW-AUTH-MISSING": RuleText(
        "Operation answers without credentials",
        "An operation that should need a token (it declares security, documents 401/403, or writes) "
        "answered 2xx to a request that carried none.",
        "https://owasp.org/API-Security/editions/2023/en/0xa2-broken-authentication/",
    ),
    "SW-MALFORMED-BODY": RuleText(
        "Server error on a malformed JSON body",
        "A truncated JSON body got a 5xx answer: the handler uses its input before validating it.",
    ),
    "SW-STACK-TRACE": RuleText(
        "Stack trace in a response body",
        "An HTTP answer shows a stack trace (file paths, library versions, code structure): debug "
        "mode or unhandled errors reach the client.",
        "https://owasp.org/www-community/Improper_Error_Handling",
    ),
    "SW-HEADER-NOSNIFF": RuleText(
        "X-Content-Type-Options: nosniff missing",
        "Without nosniff a browser may guess a response's type and run it as script.",
        f"{_MDN}/Headers/X-Content-Type-Options",
    ),
    "SW-HEADER-HSTS": RuleText(
        "Strict-Transport-Security missing",
        "An https target without HSTS lets a browser be downgraded to plain HTTP on a later visit.",
        f"{_MDN}/Headers/Strict-Transport-Security",
    ),
    "SW-HEADER-CSP": RuleText(
        "Content-Security-Policy missing",
        "An HTML page without a Content-Security-Policy gives injected script free rein.",
        f"{_MDN}/CSP",
    ),
    "SW-HEADER-CLICKJACKING": RuleText(
        "Page may be framed by any site",
        "An HTML page with neither X-Frame-Options nor CSP frame-ancestors can be framed for clickjacking.",
        "https://owasp.org/www-community/attacks/Clickjacking",
    ),
    "SW-HEADER-REFERRER": RuleText(
        "Referrer-Policy missing",
        "Without a Referrer-Policy, full URLs (paths, query strings) may leak to other sites.",
        f"{_MDN}/Headers/Referrer-Policy",
    ),
    "SW-COOKIE-SECURE": RuleText(
        "Cookie without Secure",
        "A cookie set over HTTPS without Secure is also sent over plain HTTP.",
        f"{_MDN}/Cookies",
    ),
    "SW-COOKIE-HTTPONLY": RuleText(
        "Cookie without HttpOnly",
        "A cookie without HttpOnly can be read by script, so injected script can steal it.",
        f"{_MDN}/Cookies",
    ),
    "SW-COOKIE-SAMESITE": RuleText(
        "Cookie without SameSite",
        "A cookie without SameSite rides along on cross-site requests (CSRF).",
        f"{_MDN}/Cookies",
    ),
    "SW-CORS-CREDENTIALS": RuleText(
        "CORS allows any origin with credentials",
        "Access-Control-Allow-Origin: * together with Allow-Credentials: true lets other sites read "
        "answers made with the user's cookies.",
        f"{_MDN}/CORS",
    ),
    "SW-CORS-REFLECTED": RuleText(
        "CORS reflects any origin with credentials",
        "The answer allows whatever Origin the request sent, with credentials: any site may read "
        "answers made with the user's cookies.",
        f"{_MDN}/CORS",
    ),
    "SW-CORS-REFLECTED-ORIGIN": RuleText(
        "CORS reflects any origin",
        "The answer allows whatever Origin the request sent, so any site may read it.",
        f"{_MDN}/CORS",
    ),
    "SW-BANNER-VERSION": RuleText(
        "Server software version disclosed",
        "A Server or X-Powered-By header names software and its version, which tells an attacker "
        "which published vulnerabilities to try.",
    ),
    "SW-TRACE-ENABLED": RuleText(
        "HTTP TRACE enabled",
        "The server echoes TRACE requests back, which can expose headers (cross-site tracing).",
        "https://owasp.org/www-community/attacks/Cross_Site_Tracing",
    ),
    "SW-DIRECTORY-LISTING": RuleText(
        "Directory listing enabled",
        "The server lists a folder's files, showing what was never meant to be linked.",
    ),
    "SW-PROJECT-TEST": RuleText(
        "Project security test failed",
        "One of the project's own security tests (tests/security) failed: a requirement the "
        "project states for itself is not met.",
    ),
}


def rule_text(finding: Finding) -> RuleText:
    """The description of ``finding``'s rule: stagewise's own, else built from the scanner's scheme."""
    own = OWN_RULES.get(finding.id)
    if own is not None:
        return own
    title = finding.title.strip() or finding.id
    return RuleText(title[:120], title, finding.help_uri or _scheme_uri(finding))


def _scheme_uri(finding: Finding) -> str:
    if finding.id.startswith("ZAP-") and finding.id[4:].isdigit():
        return f"https://www.zaproxy.org/docs/alerts/{finding.id[4:]}/"
    if finding.id.startswith("SCHEMATHESIS-"):
        return "https://schemathesis.readthedocs.io/en/stable/reference/checks/"
    if finding.check == "dependencies":
        return f"https://osv.dev/vulnerability/{finding.id}"
    return ""


__all__ = ["OWN_RULES", "RuleText", "rule_text"]
