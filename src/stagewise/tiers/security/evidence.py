"""Recognising leaked internals in a response body, shared by the passive and fuzz checks.

A stack trace in an error body tells an attacker file paths, library
versions and code structure. The patterns are the first lines that the
common runtimes print and that ordinary content does not contain.
"""

from __future__ import annotations

import re

from stagewise.tiers.security.findings import Finding
from stagewise.tiers.security.http import Answer

_STACK_TRACES = (
    ("Python", re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+, in ")),
    (
        "Java",
        re.compile(r"(?:Exception|Error)(?: in thread \"[^\"]*\")?[^\n]*\n\s+at [\w$.]+\([\w$]+\.java:\d+\)"),
    ),
    (".NET", re.compile(r"\s+at [\w.`<>]+\(.*\) in .+:line \d+")),
    ("Node.js", re.compile(r"\n\s+at .+ \((?:/|node:)[^)]+:\d+:\d+\)")),
    ("PHP", re.compile(r"(?:Fatal error|Stack trace:)[^\n]*\n#0 ")),
    ("Ruby", re.compile(r"\.rb:\d+:in `")),
    ("Go", re.compile(r"goroutine \d+ \[running\]:")),
    # Debug error pages rendered as HTML (Starlette/FastAPI debug=True, Django DEBUG, Werkzeug).
    ("Python", re.compile(r"class=\"traceback-(?:container|title)\"|<p class=\"frame-filename\">")),
    ("Python", re.compile(r"You're seeing this error because you have <code>DEBUG = True</code>")),
    ("Python", re.compile(r"Werkzeug Debugger|The debugger caught an exception")),
)


def stack_trace_kind(text: str) -> str | None:
    """The runtime whose stack trace appears in ``text``, or ``None``."""
    for kind, pattern in _STACK_TRACES:
        if pattern.search(text):
            return kind
    return None


def excerpt(text: str, limit: int = 200) -> str:
    """The first ``limit`` characters on one line, for evidence."""
    return " ".join(text.split())[:limit]


def stack_trace_finding(answer: Answer, check: str, location: str) -> Finding | None:
    """A finding when ``answer``'s body holds a stack trace."""
    kind = stack_trace_kind(answer.text)
    if kind is None:
        return None
    return Finding(
        id="SW-STACK-TRACE",
        title=f"{kind} stack trace in an HTTP {answer.status} response body",
        severity="medium",
        check=check,
        location=location,
        evidence=f"{answer.where()} -> {answer.status}: {excerpt(answer.text)}",
        fix="turn debug mode off in deployed stages and answer errors with a generic body; "
        "log the trace on the server instead",
    )


__all__ = ["excerpt", "stack_trace_finding", "stack_trace_kind"]
