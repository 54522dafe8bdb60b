"""The security checks' registry: its names and order, each check's metadata, and that each resolves to a Check."""

from __future__ import annotations

import pytest

from stagewise.plugins.security_checks import SECURITY_CHECKS, check_spec, in_run_order, order
from stagewise.project.security import CHECK_NAMES
from stagewise.tiers.security import BANDIT, CHECK_TOOLS, PIP_AUDIT, SCHEMATHESIS, ZAPROXY, check_tools
from stagewise.tiers.security.checks import Check, load_check
from stagewise.tiers.tools import Tool


def test_the_registry_lists_every_check_in_the_run_order() -> None:
    assert SECURITY_CHECKS.names() == ("bandit", "dependencies", "fuzz", "passive", "zap")
    assert SECURITY_CHECKS.names() == CHECK_NAMES
    assert [order(n) for n in SECURITY_CHECKS.names()] == [0, 1, 2, 3, 4]
    assert in_run_order(["zap", "bandit", "passive", "zap"]) == ("bandit", "passive", "zap")


def test_offline_checks_run_before_the_checks_against_the_target() -> None:
    offline = [spec.offline for spec in SECURITY_CHECKS]
    assert offline == [True, True, False, False, False]
    assert offline == sorted(offline, reverse=True)
    assert all(spec.offline is not spec.needs_target for spec in SECURITY_CHECKS)


def test_each_check_says_what_it_needs() -> None:
    needs = {
        s.name: (s.needs_target, s.needs_openapi, s.tool.package if s.tool else None) for s in SECURITY_CHECKS
    }
    assert needs == {
        "bandit": (False, False, "bandit"),
        "dependencies": (False, False, "pip-audit"),
        "fuzz": (True, True, "schemathesis"),
        "passive": (True, True, None),
        "zap": (True, False, "zaproxy"),
    }
    assert all(spec.summary for spec in SECURITY_CHECKS)


def test_the_tools_lookup_reads_the_registry() -> None:
    assert CHECK_TOOLS == {"bandit": BANDIT, "dependencies": PIP_AUDIT, "fuzz": SCHEMATHESIS, "zap": ZAPROXY}
    assert Tool("bandit", "bandit", "the security tier's static analysis") == BANDIT
    assert Tool("pip_audit", "pip-audit", "the security tier's dependency audit") == PIP_AUDIT
    assert Tool("schemathesis", "schemathesis", "the security tier's API fuzzing") == SCHEMATHESIS
    assert Tool("zapv2", "zaproxy", "the security tier's ZAP scan (security.zap.url)") == ZAPROXY
    assert check_tools(["passive", "fuzz", "bandit"]) == [SCHEMATHESIS, BANDIT]


@pytest.mark.parametrize("name", SECURITY_CHECKS.names())
def test_each_registered_check_resolves_to_a_check(name: str) -> None:
    check = load_check(name)
    assert isinstance(check, Check)
    assert check.name == name


def test_an_unknown_check_is_a_programming_error_naming_the_valid_ones() -> None:
    with pytest.raises(
        KeyError, match="unknown security check 'nmap' \\(checks: bandit, dependencies, fuzz, passive, zap\\)"
    ):
        check_spec("nmap")
