"""The one line of a child's output that names why it failed.

A failed alembic, prestart step, pip or compose leaves many lines behind, and
the last one is often noise: SQLAlchemy's "Background on this error at: <docs
link>", a "[SQL: ...]" echo, pip's upgrade notice. A one-line error built from
that line tells the user nothing. This picks, in order: the last Python
exception line (``package.SomeError: message``), the last line a tool marks as
an error (``FATAL:``, ``ERROR:``, ``error:``), a pydantic "Field required"
joined to the field it names; else the last line that is not noise.

Callers mask secrets in the result themselves (they know which ones).
"""

from __future__ import annotations

import re

_EXCEPTION = re.compile(
    r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Failure|Warning)\b.*?:\s*\S"
)
_MARKED = re.compile(r"(?:^|\s)(?:FATAL|ERROR|Error|error|CRITICAL)\s*:\s*\S")
_FIELD_REQUIRED = re.compile(r"^\s*(field required|Field required)\b", re.IGNORECASE)
_NOISE = (
    re.compile(r"Background on this error at"),
    re.compile(r"^\s*\(Background on this error"),
    re.compile(r"^\s*\[SQL:"),
    re.compile(r"^\s*\[parameters:"),
    re.compile(r"For further information visit"),
    re.compile(r"^\s*\[notice\]"),
    re.compile(r"^\s*(?:\^|~)+\s*$"),
    re.compile(r"^\s*Traceback \(most recent call last\):"),
)
MAX_LENGTH = 300


def cause_line(output: str, fallback: str = "(no output)") -> str:
    """The line of ``output`` that best names the failure, at most :data:`MAX_LENGTH` characters."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    meaningful = [line for line in lines if not any(noise.search(line) for noise in _NOISE)]
    for index in range(len(meaningful) - 1, -1, -1):
        if _FIELD_REQUIRED.match(meaningful[index]) and index > 0:
            field = meaningful[index - 1].strip()
            return _cut(f"{field}: {meaningful[index].strip()}")
    for pattern in (_EXCEPTION, _MARKED):
        for line in reversed(meaningful):
            if pattern.search(line.strip()):
                return _cut(line.strip())
    if meaningful:
        return _cut(meaningful[-1].strip())
    return fallback


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LENGTH else line[: MAX_LENGTH - 1] + "…"
