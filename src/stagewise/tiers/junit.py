"""Read pytest's JUnit XML into counts and the list of failing tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from stagewise.tiers.result import FailedTest, TestCounts


def read_junit(path: Path) -> tuple[TestCounts, tuple[FailedTest, ...]] | None:
    """Counts and failures from a JUnit file, or ``None`` if it is absent or unreadable.

    Sums every ``testsuite`` so the result is right for single- and
    multi-suite files alike.
    """
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - written by our own pytest child, not untrusted
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failures = errors = skipped = 0
    failed: list[FailedTest] = []
    for suite in suites:
        tests += int(suite.get("tests", "0"))
        failures += int(suite.get("failures", "0"))
        errors += int(suite.get("errors", "0"))
        skipped += int(suite.get("skipped", "0"))
        for case in suite.iter("testcase"):
            for kind in ("failure", "error"):
                node = case.find(kind)
                if node is not None:
                    name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
                    message = (node.get("message") or node.text or "").strip().splitlines()
                    failed.append(FailedTest(name, kind, message[0][:300] if message else ""))
    return TestCounts(tests, failures, errors, skipped), tuple(failed)
