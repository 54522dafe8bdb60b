"""JUnit XML: stagewise writes every tier's own and reads it back for the report.

pytest tiers get ``junit-<tier>.xml`` written from the attempt record (see
:mod:`stagewise.tiers.attempts`), never from pytest's ``--junitxml``, so there
is one dialect to read whatever pytest and plugins ran: one ``<testcase>`` per
node id, carrying ``nodeid``, ``outcome`` (passed, failed, error, skipped,
xfailed, xpassed) and ``attempts``; retried attempts are ``<flakyFailure>``
(the test passed in the end) or ``<rerunFailure>`` (it did not), as Maven
Surefire writes them, so CI viewers show them too. xfailed tests are also a
``<skipped type="pytest.xfail">``, as pytest writes them, for the same reason.
The non-pytest tiers (performance gates, resilience probes, security checks)
write gate suites. The readers still accept pytest's own files.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stagewise.tiers.attempts import Attempts, TestRecord
from stagewise.tiers.result import FailedTest, TestCounts


def read_junit(path: Path) -> tuple[TestCounts, tuple[FailedTest, ...]] | None:
    """Counts and failures from a JUnit file, or ``None`` if it is absent or unreadable.

    Sums every ``testsuite`` so the result is right for single- and
    multi-suite files alike. A file in stagewise's dialect is counted from its
    cases' ``outcome`` (which knows xfail and xpass) and its suites'
    ``deselected``; any other from the suites' own counts.
    """
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - written by stagewise itself, not untrusted
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    outcomes = [case.get("outcome") for suite in suites for case in suite.iter("testcase")]
    failed: list[FailedTest] = []
    for suite in suites:
        for case in suite.iter("testcase"):
            for kind in ("failure", "error"):
                node = case.find(kind)
                if node is not None:
                    message = (node.get("message") or node.text or "").strip().splitlines()
                    failed.append(FailedTest(_case_name(case), kind, message[0][:300] if message else ""))
    if outcomes and all(outcomes):
        deselected = sum(int(suite.get("deselected", "0")) for suite in suites)
        return TestCounts(
            tests=len(outcomes),
            failures=outcomes.count("failed"),
            errors=outcomes.count("error"),
            skipped=outcomes.count("skipped"),
            xfailed=outcomes.count("xfailed"),
            xpassed=outcomes.count("xpassed"),
            deselected=deselected,
        ), tuple(failed)
    totals = [
        sum(int(suite.get(key, "0")) for suite in suites)
        for key in ("tests", "failures", "errors", "skipped")
    ]
    return TestCounts(*totals), tuple(failed)


def _case_name(case: ET.Element) -> str:
    """The node id where the file keeps it, else pytest's ``classname::name``."""
    return case.get("nodeid") or f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")


@dataclass(frozen=True)
class CaseResult:
    """One test case as the report shows it, after reruns are folded together.

    stagewise's dialect says ``attempts`` on the case. In pytest's own files,
    pytest-rerunfailures writes a rerun as an extra, empty ``<testcase>`` with
    the same name right before the final attempt, so consecutive cases with one
    name are folded into one test. A case that passed on its last attempt after
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
        return self.outcome in ("passed", "xpassed") and self.attempts > 1


def read_cases(path: Path) -> tuple[CaseResult, ...]:
    """Every test case in a JUnit file, reruns folded; empty if the file is absent or unreadable."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - written by stagewise itself, not untrusted
    except (OSError, ET.ParseError):
        return ()
    cases: list[CaseResult] = []
    for case in root.iter("testcase"):
        name = _case_name(case)
        outcome, message, details = "passed", "", ""
        for kind, label in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            node = case.find(kind)
            if node is not None:
                outcome = label
                message = (node.get("message") or "").strip()
                details = (node.text or "").strip()
                break
        duration = _float(case.get("time"))
        if case.get("outcome"):  # stagewise's dialect: the case says it all
            outcome = str(case.get("outcome"))
            cases.append(
                CaseResult(name, outcome, duration, message, details, int(case.get("attempts", "1")))
            )
            continue
        attempts = 1
        if cases and cases[-1].name == name and cases[-1].outcome == "passed" and not cases[-1].message:
            previous = cases.pop()
            attempts += previous.attempts
            duration += previous.duration
        cases.append(CaseResult(name, outcome, duration, message[:2000], details[:20000], attempts))
    return tuple(cases)


def write_pytest_junit(path: Path, tier: str, attempts: Attempts, duration: float) -> None:
    """Write a pytest tier's ``junit-<tier>.xml`` from its attempt record (the dialect above)."""
    counts = attempts.counts
    summary = {
        "tests": str(counts.tests),
        "failures": str(counts.failures),
        "errors": str(counts.errors),
        "skipped": str(counts.skipped + counts.xfailed),  # as pytest counts them, for CI viewers
        "time": f"{duration:.3f}",
    }
    root = ET.Element("testsuites", {"name": "stagewise", **summary})
    extra = {
        "xfailed": str(counts.xfailed),
        "xpassed": str(counts.xpassed),
        "deselected": str(counts.deselected),
        "flaky": str(len(attempts.flaky)),
    }
    suite = ET.SubElement(root, "testsuite", {"name": tier, **summary, **extra})
    if attempts.pytest_version:
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="pytest", value=attempts.pytest_version)
    for test in attempts.tests:
        _testcase(suite, test)
    for error in attempts.collect_errors:
        case = ET.SubElement(
            suite, "testcase", _names(error.nodeid or "(collection)"), nodeid=error.nodeid, outcome="error"
        )
        case.set("time", "0")
        ET.SubElement(
            case, "error", message=f"collection failure: {error.message}"[:2000]
        ).text = error.details
    write_xml(path, root)


def _testcase(suite: ET.Element, test: TestRecord) -> None:
    case = ET.SubElement(suite, "testcase", _names(test.nodeid), nodeid=test.nodeid, outcome=test.outcome)
    if test.location is not None:
        case.set("file", test.location[0])
        case.set("line", str(test.location[1]))
    case.set("time", f"{test.duration:.3f}")
    case.set("attempts", str(test.attempts))
    retried = (
        "flakyFailure" if test.outcome in ("passed", "xpassed", "skipped", "xfailed") else "rerunFailure"
    )
    for message, details in test.earlier:
        ET.SubElement(case, retried, message=message[:2000]).text = details
    message = test.message[:2000]
    if test.outcome == "failed":
        ET.SubElement(case, "failure", message=message).text = test.details
    elif test.outcome == "error":
        ET.SubElement(case, "error", message=message).text = test.details
    elif test.outcome in ("skipped", "xfailed"):
        kind = "pytest.xfail" if test.outcome == "xfailed" else "pytest.skip"
        ET.SubElement(case, "skipped", type=kind, message=message).text = test.details or None
    elif test.outcome == "xpassed":
        ET.SubElement(case, "system-out").text = f"XPASS {message}".strip()


def _names(nodeid: str) -> dict[str, str]:
    """pytest's ``classname`` and ``name`` for a node id (``a/b.py::C::t[1]`` -> ``a.b.C``, ``t[1]``)."""
    parts = nodeid.split("::")
    module = parts[0].removesuffix(".py").replace("/", ".").replace("\\", ".")
    if len(parts) == 1:
        return {"classname": module, "name": module.rsplit(".", 1)[-1]}
    return {"classname": ".".join([module, *parts[1:-1]]), "name": parts[-1]}


def _float(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


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
