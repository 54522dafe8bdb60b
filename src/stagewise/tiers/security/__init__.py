"""The security tier: checks that find real problems, a gate, and evidence a person can act on.

Modules, each with one job::

    findings    Finding, CheckOutcome (passed / findings / partial / not-run / missing / error)
    checks/     one plug-in per check behind one interface, picked by name from REGISTRY:
                bandit, dependencies (pip-audit), fuzz (schemathesis + probes), passive, zap
    openapi     the target's OpenAPI document -> operations and simple valid requests
    http        raw HTTP for the probes (any method, no redirects, no proxy)
    evidence    stack-trace recognition shared by the passive and fuzz checks
    allowlist   accepted findings with a reason and an expiry date
    writers     findings.json, SARIF, JUnit, and the summary grouped by severity
    runner      runs the checks and the project's tests/security, applies the gate

The scanners run as children of stagewise's interpreter (they are its
``security`` extra), so nothing heavy is imported by ``stagewise --help``.
"""

from __future__ import annotations

from stagewise.tiers.security.runner import SecurityRun, run_security_tier
from stagewise.tiers.tools import Tool

BANDIT = Tool("bandit", "bandit", "the security tier's static analysis")
PIP_AUDIT = Tool("pip_audit", "pip-audit", "the security tier's dependency audit")
SCHEMATHESIS = Tool("schemathesis", "schemathesis", "the security tier's API fuzzing")
ZAPROXY = Tool("zapv2", "zaproxy", "the security tier's ZAP scan (security.zap.url)")

#: Which tool each check needs (checks not listed need only the standard library).
CHECK_TOOLS = {"bandit": BANDIT, "dependencies": PIP_AUDIT, "fuzz": SCHEMATHESIS, "zap": ZAPROXY}

__all__ = [
    "BANDIT",
    "CHECK_TOOLS",
    "PIP_AUDIT",
    "SCHEMATHESIS",
    "ZAPROXY",
    "SecurityRun",
    "run_security_tier",
]
