"""Synthetic run folders for the report tests: what real tiers leave behind, written by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JUNIT_UNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="5" time="1.5">
<testcase classname="tests.unit.test_cart" name="test_total" time="0.250"/>
<testcase classname="tests.unit.test_cart" name="test_flaky_clock" time="0.010"/>
<testcase classname="tests.unit.test_cart" name="test_flaky_clock" time="0.020"/>
<testcase classname="tests.unit.test_cart" name="test_discount" time="1.125"><failure message="AssertionError: &lt;script&gt;alert(1)&lt;/script&gt; 10 != 12">def test_discount():
&gt;       assert discount(&lt;b&gt;) == 12
E       AssertionError: 10 != 12

tests/unit/test_cart.py:9: AssertionError</failure></testcase>
<testcase classname="tests.unit.test_cart" name="test_skip" time="0.000"><skipped message="later"/></testcase>
<testcase classname="tests.unit.test_cart" name="test_tax" time="0.050"/>
</testsuite></testsuites>
"""

JUNIT_API = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="2" time="0.3">
<testcase classname="tests.api.test_health" name="test_health" time="0.100"/>
<testcase classname="tests.api.test_health" name="test_metrics" time="0.200"/>
</testsuite></testsuites>
"""

PERFORMANCE = {
    "users": 10,
    "duration_s": 30,
    "requests": 3000,
    "failures": 2,
    "rps": 100.0,
    "latency_ms": {"p50": 12.0, "p95": 48.0, "p99": 90.0},
    "timeline": [
        {"t": 0, "p50": 10.0, "p95": 40.0, "p99": 70.0, "rps": 80.0, "errors": 0},
        {"t": 5, "p50": 11.0, "p95": 45.0, "p99": 85.0, "rps": 95.0, "errors": 1},
        {"t": 10, "p50": 12.0, "p95": 50.0, "p99": 95.0, "rps": 110.0, "errors": 1},
        {"t": 15, "p50": 13.0, "p95": 52.0, "p99": 99.0, "rps": 105.0, "errors": 0},
    ],
}

FINDINGS = {
    "findings": [
        {"id": "B105", "title": "Hard-coded password", "severity": "high", "location": "shop/config.py:12"},
        {"id": "HDR-1", "title": "Missing CSP header", "severity": "medium", "location": "GET /"},
        {"id": "X", "title": "Odd", "severity": "weird", "location": "?"},
    ]
}

COVERAGE = {
    "totals": {"percent_covered": 87.5},
    "files": {
        "shop/cart.py": {"summary": {"percent_covered": 95.0, "num_statements": 40, "missing_lines": 2}},
        "shop/pay.py": {"summary": {"percent_covered": 40.0, "num_statements": 20, "missing_lines": 12}},
    },
}


def tier(name: str, status: str, junit: Path | None, **counts: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": name,
        "status": status,
        "tests": 0,
        "passed": 0,
        "failed": 0,
        "errors": 0,
        "skipped": 0,
        "flaky": 0,
        "duration_s": 1.0,
        "message": "",
        "junit": str(junit) if junit else None,
        "log": None,
        "failed_tests": [],
        "flaky_tests": [],
        "reruns": 0,
    }
    record.update(counts)
    return record


def make_run(run_dir: Path, *, performance: bool = True, findings: bool = True) -> dict[str, Any]:
    """A failed run with a unit and an api tier, coverage, a load run and findings; returns its record."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "junit-unit.xml").write_text(JUNIT_UNIT, encoding="utf-8")
    (run_dir / "junit-api.xml").write_text(JUNIT_API, encoding="utf-8")
    (run_dir / "coverage.json").write_text(json.dumps(COVERAGE), encoding="utf-8")
    if performance:
        (run_dir / "performance.json").write_text(json.dumps(PERFORMANCE), encoding="utf-8")
    if findings:
        (run_dir / "findings.json").write_text(json.dumps(FINDINGS), encoding="utf-8")
    return {
        "schema_version": 1,
        "run_id": run_dir.name,
        "stage": "test",
        "target": "http://127.0.0.1:8000",
        "started_at": "2026-11-25T08:00:00+00:00",
        "duration_s": 12.5,
        "verdict": "failed",
        "exit_code": 1,
        "coverage_percent": 87.5,
        "tiers": [
            tier(
                "unit",
                "failed",
                run_dir / "junit-unit.xml",
                tests=5,
                passed=2,
                failed=1,
                skipped=1,
                flaky=1,
                duration_s=1.5,
                message="1 failed, 0 errors",
                failed_tests=[
                    {"name": "tests.unit.test_cart::test_discount", "kind": "failure", "message": "10 != 12"}
                ],
                flaky_tests=[{"name": "tests.unit.test_cart::test_flaky_clock", "reruns": 1}],
                reruns=2,
            ),
            tier("api", "passed", run_dir / "junit-api.xml", tests=2, passed=2, duration_s=0.3),
        ],
        "gates": [
            {"name": "coverage", "measured": 87.5, "limit": 80, "passed": True, "message": "coverage ok"}
        ],
        "stagewise_version": "0.1.0",
        "run_dir": str(run_dir),
        "page": "index.html",
        "flaky": 1,
        "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main", "dirty": False},
        "tool_versions": {"python": "3.11.2", "pytest": "9.2.0", "stagewise": "0.1.0"},
    }


def history(n: int) -> list[dict[str, Any]]:
    """``n`` history lines whose pass rate, duration, coverage and p95 all change run to run.

    They name no command, as lines written before ``stagewise check`` existed: test runs.
    """
    return [
        {
            "run_id": f"2026112{i}T080000Z-abcdef",
            "stage": "test",
            "verdict": "passed" if i % 2 else "failed",
            "exit_code": 0 if i % 2 else 1,
            "duration_s": 10.0 + i,
            "coverage_percent": 80.0 + i,
            "pass_rate": 0.8 + i * 0.05,
            "p95_ms": 40.0 + 3 * i,
            "tiers": {"unit": "passed", "api": "passed"},  # the tiers make_run's record has
        }
        for i in range(n)
    ]
