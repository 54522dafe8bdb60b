"""JUnit XML for the resilience tier: one test suite per probe, one test case per gate."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from stagewise.tiers.junit import gate_suite, write_xml
from stagewise.tiers.resilience.probes.base import ProbeResult


def write_junit(path: Path, scenario: str, probes: Sequence[ProbeResult], problems: Sequence[str]) -> None:
    """Write ``junit-resilience.xml``; a failed gate is a ``<failure>``, a probe that could not run an ``<error>``."""
    root = ET.Element("testsuites")
    for probe in probes:
        gates = [(c.gate, c.passed, c.message) for c in probe.checks]
        gate_suite(root, f"resilience.{scenario}.{probe.probe}", gates, probe.duration)
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
    write_xml(path, root)


__all__ = ["write_junit"]
