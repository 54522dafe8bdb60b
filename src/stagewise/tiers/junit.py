"""JUnit XML: read pytest's into counts, failing tests and per-case records; write the
non-pytest tiers' own (performance gates, resilience probes, security checks).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
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


def gate_suite(
    parent: ET.Element, name: str, gates: Sequence[tuple[str, bool, str]], duration: float
) -> None:
    """A ``<testsuite>`` of gates under ``parent``: each (name, passed, message) is a test case.

    A failed gate is a ``<failure>`` carrying its message; a passed one keeps
    the message as ``<system-out>``, so CI shows the measured value either way.
    """
    suite = ET.SubElement(
        parent,
        "testsuite",
        name=name,
        tests=str(len(gates)),
        failures=str(sum(1 for _, passed, _ in gates if not passed)),
        errors="0",
        skipped="0",
        time=f"{duration:.3f}",
    )
    for case_name, passed, message in gates:
        case = ET.SubElement(suite, "testcase", classname=name, name=case_name, time="0")
        if passed:
            ET.SubElement(case, "system-out").text = message
        else:
            ET.SubElement(case, "failure", message=message, type="gate").text = message


def write_xml(path: Path, root: ET.Element) -> None:
    """Write a JUnit document atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    ET.ElementTree(root).write(temporary, encoding="utf-8", xml_declaration=True)
    os.replace(temporary, path)
