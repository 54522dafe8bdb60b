"""JUnit XML for the resilience tier: one test suite per probe, one test case per gate."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from stagewise.tiers.resilience.probes.base import ProbeResult


def write_junit(path: Path, scenario: str, probes: Sequence[ProbeResult], problems: Sequence[str]) -> None:
    """Write ``junit-resilience.xml``; a failed gate is a ``<failure>``, a probe that could not run an ``<error>``."""
    root = ET.Element("testsuites")
    for probe in probes:
        failures = [c for c in probe.checks if not c.passed]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"resilience.{scenario}.{probe.probe}",
            tests=str(len(probe.checks)),
            failures=str(len(failures)),
            errors="0",
            skipped="0",
            time=f"{probe.duration:.3f}",
        )
        for check in probe.checks:
            case = ET.SubElement(
                suite, "testcase", classname=f"resilience.{scenario}.{probe.probe}", name=check.gate, time="0"
            )
            if check.passed:
                ET.SubElement(case, "system-out").text = check.message
            else:
                failure = ET.SubElement(case, "failure", message=check.message, type="gate")
                failure.text = check.message
    if problems:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"resilience.{scenario}.environment",
            tests=str(len(problems)),
            failures="0",
            errors=str(len(problems)),
            skipped="0",
            time="0",
        )
        for index, problem in enumerate(problems):
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"resilience.{scenario}.environment",
                name=f"problem {index + 1}",
                time="0",
            )
            ET.SubElement(case, "error", message=problem, type="environment").text = problem
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".xml.tmp")
    ET.ElementTree(root).write(temporary, encoding="utf-8", xml_declaration=True)
    os.replace(temporary, path)


__all__ = ["write_junit"]
