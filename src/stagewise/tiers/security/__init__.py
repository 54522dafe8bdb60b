"""The security tier: checks that find real problems, a gate, and evidence a person can act on.

Modules, each with one job::

    findings    Finding, CheckOutcome (passed / findings / partial / not-run / missing / error)
    checks/     one plug-in per check behind one interface, picked by name from the
                registry stagewise.plugins.security_checks:
                bandit, dependencies (pip-audit), fuzz (schemathesis + probes), passive, zap
    openapi     the target's OpenAPI document -> operations and simple valid requests
    discovery   where that document is: configured, the app's openapi_url, the usual places
    crawl       a bounded same-origin crawl whose pages the passive check judges
    advisories  a local OSV advisory copy served to pip-audit on 127.0.0.1
    grouping    findings below the gate, one terminal line per id
    http        raw HTTP for the probes (any method, no redirects, no proxy)
    evidence    stack-trace recognition shared by the passive and fuzz checks
    allowlist   accepted findings with a reason and an expiry date
    writers     findings.json, SARIF, JUnit, and the summary grouped by severity
    runner      runs the checks and the project's tests/security, applies the gate

The scanners run as children of stagewise's interpreter (they are its
``security`` extra), so nothing heavy is imported by ``stagewise --help``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from stagewise.plugins.security_checks import SECURITY_CHECKS
from stagewise.tiers.tools import Tool

if TYPE_CHECKING:
    from stagewise.tiers.security.runner import SecurityRun, run_security_tier

#: Which tool each check needs, from the registry (checks not listed need only the standard library).
CHECK_TOOLS: dict[str, Tool] = {
    spec.name: Tool(spec.tool.module, spec.tool.package, spec.tool.needed_for)
    for spec in SECURITY_CHECKS
    if spec.tool is not None
}
BANDIT = CHECK_TOOLS["bandit"]
PIP_AUDIT = CHECK_TOOLS["dependencies"]
SCHEMATHESIS = CHECK_TOOLS["fuzz"]
ZAPROXY = CHECK_TOOLS["zap"]


def __getattr__(name: str) -> Any:
    """The runner's names, imported on first use: every ``stagewise test`` imports this package
    (the security tier validates each request), and the runner with its checks is heavy."""
    if name in ("SecurityRun", "run_security_tier"):
        from stagewise.tiers.security import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_tools(checks: Iterable[str]) -> list[Tool]:
    """The tools the named checks need, in the order given (for the preflight)."""
    return [CHECK_TOOLS[name] for name in checks if name in CHECK_TOOLS]


__all__ = [
    "BANDIT",
    "CHECK_TOOLS",
    "PIP_AUDIT",
    "SCHEMATHESIS",
    "ZAPROXY",
    "SecurityRun",
    "check_tools",
    "run_security_tier",
]
