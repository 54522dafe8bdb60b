"""squawk, the PostgreSQL migration linter, over the SQL an upgrade would run.

The SQL is alembic's offline output (``alembic upgrade FROM:TO --sql``), which
marks each revision with ``-- Running upgrade A -> B``; every finding is placed
in its revision and carries the statement it is about, so an allow-list entry
can name a rule in one revision (``location = "0002*"``) and a person reading
the gate's output sees the SQL, not a line number in a file that never existed.

squawk (``squawk-cli`` on PyPI, a binary wheel) is looked up beside stagewise's
own interpreter (the venv it was installed into), then on ``PATH``; missing,
the error names the pip command (exit 4).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from stagewise.errors import ConfigError, DeployError, MissingError
from stagewise.project.migration_gate import GateConfig
from stagewise.tiers.security.allowlist import AllowList, acceptance_for, load_allowlist, where_of
from stagewise.tiers.security.findings import Finding

_TIMEOUT = 120  # seconds; squawk lints thousands of statements in well under one
_RUNNING = re.compile(r"^-- Running upgrade (\S*) -> (\S+)")


@dataclass(frozen=True)
class LintFinding:
    """One squawk finding: its rule, whether it fails the gate, where, and what to do."""

    rule: str
    error: bool
    revision: str
    statement: str
    message: str
    help: str
    accepted_by: str | None = None

    @property
    def location(self) -> str:
        """What an allow-list entry's ``location`` glob is matched against: ``REVISION: STATEMENT``."""
        return f"{self.revision}: {self.statement}"

    @property
    def fails(self) -> bool:
        return self.error and self.accepted_by is None

    def line(self) -> str:
        level = "error" if self.error else "warning"
        if self.accepted_by:
            level = "accepted"
        text = f"{level} {self.rule} in {self.revision}: {self.message} ({self.statement})"
        if self.accepted_by:
            return f"{text} - {self.accepted_by}"
        return f"{text}; {self.help}" if self.help else text


@dataclass(frozen=True)
class LintResult:
    findings: tuple[LintFinding, ...]
    #: Allow-list entries that matched but have expired: they no longer suppress.
    expired: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[LintFinding, ...]:
        return tuple(f for f in self.findings if f.fails)

    @property
    def warnings(self) -> tuple[LintFinding, ...]:
        return tuple(f for f in self.findings if not f.fails)


def squawk_binary() -> str:
    """squawk beside stagewise's interpreter, else on PATH; exit 4 naming the install command."""
    beside = Path(sys.executable).parent / ("squawk.exe" if os.name == "nt" else "squawk")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("squawk")
    if found:
        return found
    raise MissingError(
        "squawk (the migration linter) is not installed: run "
        f"`{sys.executable} -m pip install squawk-cli` (or put squawk on PATH)"
    )


def load_gate_allowlist(root: Path, config: GateConfig) -> AllowList:
    """``data.gate.allowlist`` parsed and validated (exit 3 naming the file and the key)."""
    path = root / config.allowlist
    if config.allowlist_required and not path.is_file():
        raise ConfigError(str(path), "(file)", "does not exist (named by data.gate.allowlist)")
    # The format is the security tier's: [[accept]] id, location, reason, expires.
    return load_allowlist(path, required=False)


def lint(sql: str, config: GateConfig, allowlist: AllowList, today: date | None = None) -> LintResult:
    """Run squawk over ``sql``; each finding is an error or a warning by ``config``, then the allow-list."""
    binary = squawk_binary()
    with tempfile.TemporaryDirectory(prefix="stagewise-squawk-") as folder:
        path = Path(folder) / "upgrade.sql"
        path.write_text(sql, encoding="utf-8")
        command = [binary, "--reporter", "json"]
        if config.excluded:
            command.append("--exclude=" + ",".join(config.excluded))
        try:
            done = subprocess.run(
                [*command, str(path)],
                capture_output=True,
                text=True,
                check=False,
                timeout=_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeployError(f"squawk did not finish within {_TIMEOUT} s") from exc
    raw = _parse(done.stdout, done.stderr)
    lines = sql.splitlines()
    revisions = _revision_of_lines(lines)
    findings = [
        LintFinding(
            rule=str(item.get("rule_name", "")),
            error=str(item.get("rule_name", "")) in config.errors or item.get("level") == "Error",
            revision=revisions[min(int(item.get("line", 0)), len(revisions) - 1)] if revisions else "?",
            statement=_statement(lines, int(item.get("line", 0)), int(item.get("line_end", 0))),
            message=str(item.get("message", "")),
            help=str(item.get("help") or ""),
        )
        for item in raw
    ]
    return _accept(findings, allowlist, today or date.today())


def _parse(stdout: str, stderr: str) -> list[dict[str, Any]]:
    try:
        found = json.loads(stdout or "[]")
    except json.JSONDecodeError as exc:
        reason = (stderr or stdout).strip().splitlines()
        raise DeployError(f"squawk failed: {reason[0] if reason else 'no output'}") from exc
    if not isinstance(found, list):
        raise DeployError("squawk's JSON report is not a list of findings")
    return [f for f in found if isinstance(f, dict)]


def _revision_of_lines(lines: Sequence[str]) -> list[str]:
    """For each line of alembic's offline SQL, the revision it belongs to (``-`` before the first)."""
    current = "-"
    out = []
    for text in lines:
        match = _RUNNING.match(text)
        if match:
            current = match.group(2)
        out.append(current)
    return out


def _statement(lines: Sequence[str], start: int, end: int) -> str:
    """The statement's text (squawk counts lines from 0), on one line, shortened."""
    if not lines:
        return ""
    start = max(0, min(start, len(lines) - 1))
    end = max(start, min(end, len(lines) - 1))
    text = " ".join(" ".join(lines[start : end + 1]).split())
    return text if len(text) <= 160 else text[:157] + "..."


def _accept(findings: list[LintFinding], allowlist: AllowList, today: date) -> LintResult:
    """Mark findings an unexpired entry accepts; an expired entry that matches is named, not applied."""
    where = where_of(allowlist)
    marked: list[LintFinding] = []
    expired: dict[str, str] = {}
    for finding in findings:
        # Matched as the security tier matches: id = the rule, location = a glob on "REVISION: SQL".
        probe = Finding(finding.rule, finding.message, "high", "squawk", finding.location, "", "")
        live, stale = acceptance_for(probe, allowlist, today)
        if live is not None:
            marked.append(
                replace(finding, accepted_by=f"{where}:{live.key} until {live.expires}: {live.reason}")
            )
            continue
        for entry in stale:
            expired[entry.key] = (
                f"{where}:{entry.key} for {entry.id} expired on {entry.expires}: "
                "it no longer accepts the finding; renew it with a new reason or change the migration"
            )
        marked.append(finding)
    return LintResult(tuple(marked), tuple(expired.values()))
