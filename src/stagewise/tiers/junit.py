"""Read pytest's JUnit XML into counts, the list of failing tests, and per-case records."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
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


@dataclass(frozen=True)
class CaseResult:
    """One test case as the report shows it, after reruns are folded together.

    ``attempts`` counts how often the case ran: pytest-rerunfailures writes a
    rerun as an extra, empty ``<testcase>`` with the same name right before the
    final attempt (it adds no ``<rerunFailure>`` child), so consecutive cases
    with one name are one test. A case that passed on its last attempt after
    earlier ones is ``flaky``.
    """

    name: str
    outcome: str
    duration: float
    message: str = ""
    details: str = ""
    attempts: int = 1

    @property
    def flaky(self) -> bool:
        return self.outcome == "passed" and self.attempts > 1


def read_cases(path: Path) -> tuple[CaseResult, ...]:
    """Every test case in a JUnit file, reruns folded; empty if the file is absent or unreadable."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - written by our own pytest child, not untrusted
    except (OSError, ET.ParseError):
        return ()
    cases: list[CaseResult] = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
        outcome, message, details = "passed", "", ""
        for kind, label in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            node = case.find(kind)
            if node is not None:
                outcome = label
                message = (node.get("message") or "").strip()
                details = (node.text or "").strip()
                break
        try:
            duration = float(case.get("time", "0") or 0)
        except ValueError:
            duration = 0.0
        attempts = 1
        if cases and cases[-1].name == name and cases[-1].outcome == "passed" and not cases[-1].message:
            previous = cases.pop()
            attempts += previous.attempts
            duration += previous.duration
        cases.append(CaseResult(name, outcome, duration, message[:2000], details[:20000], attempts))
    return tuple(cases)
