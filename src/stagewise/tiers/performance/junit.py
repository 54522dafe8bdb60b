"""JUnit XML for the performance tier: one test case per gate, so CI shows which broke."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from stagewise.tiers.junit import gate_suite, write_xml
from stagewise.tiers.performance.gates import GateCheck


def write_junit(path: Path, scenario: str, checks: Sequence[GateCheck], duration: float) -> None:
    """Write ``junit-performance.xml``; a failed gate is a ``<failure>`` with its message."""
    root = ET.Element("testsuites")
    gates = [(f"{c.gate} {c.endpoint}", c.passed, c.message) for c in checks]
    gate_suite(root, f"performance.{scenario}", gates, duration)
    write_xml(path, root)
