"""The interface every security check implements, and what the runner hands it.

A check is a plug-in: a class with a ``name`` and a ``run(context)`` that
returns a :class:`~stagewise.tiers.security.findings.CheckOutcome`. It never
raises for what it finds or for what it cannot do — "no ZAP daemon", "no
vulnerability data" and "the tool crashed" are outcomes — except
:class:`~stagewise.errors.InterruptedRun` on Ctrl+C.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from stagewise.project.security import SecurityConfig
from stagewise.tiers.process import run_streaming
from stagewise.tiers.security.findings import CheckOutcome


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may read; fully resolved by the tier's runner.

    ``tool_python`` runs the scanners (bandit, pip-audit, schemathesis are
    stagewise's ``security`` extra); ``project_python`` is the interpreter
    whose installed packages the dependency audit looks at.
    """

    root: Path
    target: str
    config: SecurityConfig
    tool_python: str
    project_python: str
    source_paths: tuple[str, ...]
    env: Mapping[str, str]
    out_dir: Path
    log: Callable[[str], None]
    active: bool = False
    openapi: Mapping[str, object] | None = None
    openapi_problem: str = ""
    #: Where the document came from: its absolute URL and how it was found (for the notes).
    openapi_url: str = ""
    openapi_source: str = ""
    secrets: tuple[str, ...] = field(default_factory=tuple)

    def url(self, path: str) -> str:
        """An absolute URL on the target for ``path`` (which starts with '/')."""
        return self.target + path

    def run_tool(self, command: list[str], what: str) -> int:
        """Run a scanner as a child (an argument list, never a shell), its output to the log."""
        return run_streaming(command, self.root, self.env, self.log, what=what)


@runtime_checkable
class Check(Protocol):
    """A security check: one module under ``tiers/security/checks``, registered in
    :data:`stagewise.plugins.security_checks.SECURITY_CHECKS` (its metadata lives there)."""

    name: str

    def run(self, context: CheckContext) -> CheckOutcome:
        """Examine the project or the target and return a CheckOutcome."""
        ...


__all__ = ["Check", "CheckContext"]
