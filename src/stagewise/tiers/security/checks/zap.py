"""OWASP ZAP, when a ZAP daemon is configured: spider, passive scan, and an active scan on request.

stagewise never starts ZAP (it is a large Java application with its own
lifecycle); it drives one that runs, named by ``security.zap.url``, through
the official client (``zaproxy`` on PyPI, imported only here). Without a
configured daemon the check is "not run (no ZAP daemon configured)" — never
passed. A configured daemon that does not answer is ``missing`` (exit 4).

The active scan sends attack payloads, so it runs only with ``--active``;
the pipeline refuses ``--active`` on a protected stage without ``--yes``
before anything runs.
"""

from __future__ import annotations

import time
from typing import Any

from stagewise.tiers.security.checks.base import CheckContext
from stagewise.tiers.security.findings import CheckOutcome, CheckStatus, Finding, outcome_from

_RISK = {"high": "high", "medium": "medium", "low": "low", "informational": "info"}
POLL_SECONDS = 2.0


def to_finding(alert: dict[str, Any]) -> Finding:
    """One ZAP alert as a finding (``ZAP-10038`` for the plug-in id)."""
    risk = str(alert.get("risk", "informational")).lower()
    cwe = str(alert.get("cweid", ""))
    param = f" (parameter {alert['param']})" if alert.get("param") else ""
    return Finding(
        id=f"ZAP-{alert.get('pluginId', '0')}",
        title=f"{alert.get('alert', alert.get('name', 'ZAP alert'))}{param}",
        severity=_RISK.get(risk, "info"),
        check="zap",
        tool="zap",
        location=f"{alert.get('method', 'GET')} {alert.get('url', '')}",
        evidence=" ".join(str(alert.get("evidence") or alert.get("description") or "").split())[:240]
        + (f" (CWE-{cwe})" if cwe and cwe != "-1" else ""),
        fix=" ".join(str(alert.get("solution", "")).split())[:300] or "see the ZAP alert's reference",
    )


class ZapCheck:
    """The ``zap`` check."""

    name = "zap"

    def run(self, context: CheckContext) -> CheckOutcome:
        settings = context.config.zap
        if settings.url is None:
            return CheckOutcome(
                self.name, CheckStatus.NOT_RUN, reason="no ZAP daemon configured (set security.zap.url)"
            )
        from zapv2 import ZAPv2  # type: ignore[import-untyped]  # the client ships no type hints

        api_key = context.env.get(settings.api_key_env) if settings.api_key_env else None
        zap = ZAPv2(apikey=api_key, proxies={"http": settings.url, "https": settings.url})
        try:
            version = zap.core.version
        except Exception as exc:
            reason = f"the ZAP daemon at {settings.url} does not answer: {exc}"
            return CheckOutcome(self.name, CheckStatus.MISSING, reason=reason[:300])
        context.log(f"zap: daemon {version} at {settings.url}; spidering {context.target}")
        notes: list[str] = []
        try:
            self._wait(zap.spider, zap.spider.scan(context.target), settings.spider_seconds, "spider", notes)
            deadline = time.monotonic() + settings.spider_seconds
            while int(zap.pscan.records_to_scan) > 0 and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            if context.active:
                context.log("zap: active scan (--active)")
                scan = zap.ascan.scan(context.target)
                self._wait(zap.ascan, scan, settings.active_seconds, "active scan", notes)
            alerts = zap.core.alerts(baseurl=context.target)
        except Exception as exc:
            return CheckOutcome(self.name, CheckStatus.ERROR, reason=f"ZAP: {exc}"[:300])
        findings = [to_finding(a) for a in alerts if isinstance(a, dict)]
        outcome = outcome_from(self.name, findings, "; ".join(notes), partial=bool(notes))
        if not context.active:
            outcome.notes.append("passive scan only (add --active for ZAP's active scan)")
        return outcome

    @staticmethod
    def _wait(component: Any, scan_id: object, seconds: float, what: str, notes: list[str]) -> None:
        deadline = time.monotonic() + seconds
        while int(component.status(scan_id)) < 100:
            if time.monotonic() > deadline:
                component.stop(scan_id)
                notes.append(f"ZAP {what} stopped after {seconds:g}s")
                return
            time.sleep(POLL_SECONDS)


__all__ = ["ZapCheck", "to_finding"]
