"""The registry of security checks: each check's metadata and a lazy reference to its class.

The registration order is the run order: the offline checks first (they need
only the source, so a dead target still yields their findings), then the
checks against the target. The project loader reads the names from here, the
security tier's runner picks each check's class and whether it needs the
OpenAPI document, and the preflight asks which scanner each check needs.

Adding a check is one module under ``stagewise/tiers/security/checks`` (a
class implementing ``Check``) and one ``register`` call below.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from stagewise.registry import Registry

_CHECKS = "stagewise.tiers.security.checks"


class Scanner(NamedTuple):
    """The Python package a check runs (stagewise's ``security`` extra): import name, pip name, why."""

    module: str
    package: str
    needed_for: str


class Spec(NamedTuple):
    """One security check.

    ``implementation`` is ``"module:attr"`` naming a class whose instances
    implement ``stagewise.tiers.security.checks.base.Check``; ``tool`` is the
    scanner it needs (``None``: only the standard library); ``needs_target``
    says it talks to the running target, ``needs_openapi`` that it reads the
    target's OpenAPI document (the runner fetches it once for all of them).
    """

    name: str
    implementation: str = ""
    tool: Scanner | None = None
    needs_target: bool = False
    needs_openapi: bool = False
    summary: str = ""

    @property
    def offline(self) -> bool:
        """Runs on the source alone (no target): such checks run first."""
        return not self.needs_target


SECURITY_CHECKS: Registry[Spec] = Registry("security_check")
SECURITY_CHECKS.register(
    Spec(
        "bandit",
        f"{_CHECKS}.bandit:BanditCheck",
        tool=Scanner("bandit", "bandit", "the security tier's static analysis"),
        summary="static analysis of the project's source (bandit)",
    )
)
SECURITY_CHECKS.register(
    Spec(
        "dependencies",
        f"{_CHECKS}.dependencies:DependencyCheck",
        tool=Scanner("pip_audit", "pip-audit", "the security tier's dependency audit"),
        summary="known vulnerabilities in pinned or installed packages (pip-audit)",
    )
)
SECURITY_CHECKS.register(
    Spec(
        "fuzz",
        f"{_CHECKS}.fuzz:FuzzCheck",
        tool=Scanner("schemathesis", "schemathesis", "the security tier's API fuzzing"),
        needs_target=True,
        needs_openapi=True,
        summary="the API fuzzed from its OpenAPI document (schemathesis) plus targeted probes",
    )
)
SECURITY_CHECKS.register(
    Spec(
        "passive",
        f"{_CHECKS}.passive:PassiveCheck",
        needs_target=True,
        needs_openapi=True,
        summary="what the target's ordinary answers give away or leave open (no attack payloads)",
    )
)
SECURITY_CHECKS.register(
    Spec(
        "zap",
        f"{_CHECKS}.zap:ZapCheck",
        tool=Scanner("zapv2", "zaproxy", "the security tier's ZAP scan (security.zap.url)"),
        needs_target=True,
        summary="OWASP ZAP through a configured daemon: spider, passive scan, active scan on request",
    )
)


def check_spec(name: str) -> Spec:
    """The entry for ``name``; an unknown name is a programming error (the loader validates names)."""
    spec = SECURITY_CHECKS.get(name)
    if spec is None:
        raise KeyError(f"unknown security check {name!r} (checks: {SECURITY_CHECKS.one_of()})")
    return spec


def order(name: str) -> int:
    """The position of check ``name`` in the run order (0 first)."""
    check_spec(name)
    return SECURITY_CHECKS.names().index(name)


def in_run_order(names: Iterable[str]) -> tuple[str, ...]:
    """The known names among ``names``, once each, in the run order."""
    wanted = set(names)
    return tuple(n for n in SECURITY_CHECKS.names() if n in wanted)


__all__ = ["SECURITY_CHECKS", "Scanner", "Spec", "check_spec", "in_run_order", "order"]
