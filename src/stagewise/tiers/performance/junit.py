"""JUnit XML for the performance tier: one test case per gate, so CI shows which broke."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from stagewise.tiers.performance.gates import GateCheck


def write_junit(path: Path, scenario: str, checks: Sequence[GateCheck], duration: float) -> None:
    """Write ``junit-performance.xml``; a failed gate is a ``<failure>`` with its message."""
    failures = [c for c in checks if not c.passed]
    suite = ET.Element(
        "testsuite",
        name=f"performance.{scenario}",
        tests=str(len(checks)),
        failures=str(len(failures)),
        errors="0",
        skipped="0",
        time=f"{duration:.3f}",
    )
    for check in checks:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"performance.{scenario}",
            name=f"{check.gate} {check.endpoint}",
            time="0",
        )
        if not check.passed:
            failure = ET.SubElement(case, "failure", message=check.message, type="gate")
            failure.text = check.message
        else:
            ET.SubElement(case, "system-out").text = check.message
    root = ET.Element("testsuites")
    root.append(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".xml.tmp")
    ET.ElementTree(root).write(temporary, encoding="utf-8", xml_declaration=True)
    os.replace(temporary, path)
