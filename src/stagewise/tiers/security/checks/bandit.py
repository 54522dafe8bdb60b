"""Static analysis of the project's own source with bandit.

bandit runs as a child of stagewise's interpreter (``python -m bandit ... -f
json -o FILE``): a child cannot take the run down with it, Ctrl+C stops its
whole process group, and its JSON report is a documented, stable format —
unlike its Python API, which is internal. Each bandit result becomes one
finding with the code line as evidence and a concrete fix for the common
rules (bandit's own documentation link otherwise). A result bandit is not
confident about (confidence LOW) is lowered one severity level: it is worth a
look, not a failed build.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stagewise.tiers.security.checks.base import CheckContext
from stagewise.tiers.security.findings import (
    CheckOutcome,
    CheckStatus,
    Finding,
    outcome_from,
)

#: bandit exits 1 when it found issues; anything else but 0 means it could not scan.
BANDIT_FOUND_ISSUES = 1

_FIXES = {
    "B102": "remove exec(); dispatch to known functions instead of running strings",
    "B104": "bind to 127.0.0.1 or to the one interface the service needs, set by configuration",
    "B105": "read the secret from the environment or a secret store; never commit it",
    "B106": "read the secret from the environment or a secret store; never commit it",
    "B107": "read the secret from the environment or a secret store; never commit it",
    "B108": "use tempfile.mkstemp()/TemporaryDirectory() instead of a fixed path in /tmp",
    "B113": "pass timeout=... to every requests call so a slow peer cannot hang the worker",
    "B201": "never run Flask with debug=True outside development: it serves a remote console",
    "B301": "do not unpickle untrusted data; use JSON or a schema-validated format",
    "B307": "replace eval() with ast.literal_eval() or explicit parsing",
    "B311": "use the secrets module for tokens and anything security-relevant",
    "B324": "use hashlib.sha256 (or pass usedforsecurity=False when it is not for security)",
    "B501": "keep TLS verification on (verify=True, the default)",
    "B506": "use yaml.safe_load()",
    "B602": "pass an argument list with shell=False (the default); never build a shell string from input",
    "B603": "make sure the argument list holds no unvalidated input",
    "B604": "pass an argument list with shell=False; never build a shell string from input",
    "B605": "use subprocess.run([...]) with an argument list instead of os.system/os.popen",
    "B607": "call the program by its full path, or resolve it with shutil.which() once",
    "B608": "use bound query parameters (cursor.execute(sql, params)) instead of string formatting",
    "B701": "create the Jinja2 Environment with autoescape=True",
}

_LOWER = {"critical": "high", "high": "medium", "medium": "low", "low": "info", "info": "info"}


def scan_paths(context: CheckContext) -> list[str]:
    """What bandit scans: ``security.bandit.paths``, else the project's source, else the root."""
    configured = context.config.bandit.paths or context.source_paths
    existing = [p for p in configured if (context.root / p).exists()]
    return existing or ["."]


def build_command(context: CheckContext, report: Path) -> list[str]:
    """The bandit argument list (never a shell string)."""
    excludes = ",".join(
        pattern for name in context.config.bandit.exclude for pattern in (f"./{name}", f"*/{name}/*")
    )
    command = [context.tool_python, "-m", "bandit", "-r", *scan_paths(context)]
    command += ["-f", "json", "-o", str(report), "-q"]
    if excludes:
        command += ["-x", excludes]
    return command


def to_finding(result: dict[str, Any], root: Path) -> Finding:
    """One bandit result as a finding: ``B602 subprocess_popen_with_shell_equals_true at app.py:56``."""
    test_id = str(result.get("test_id", "B000"))
    severity = str(result.get("issue_severity", "LOW")).lower()
    confidence = str(result.get("issue_confidence", "")).lower()
    if confidence == "low":
        severity = _LOWER.get(severity, "info")
    filename = str(result.get("filename", ""))
    path = Path(filename)
    if path.is_absolute():
        path = Path(os.path.relpath(path, root))
    location = f"{path.as_posix().removeprefix('./')}:{result.get('line_number', 0)}"
    code = _flagged_line(str(result.get("code", "")), result.get("line_number"))
    cwe = result.get("issue_cwe") or {}
    cwe_text = f" (CWE-{cwe.get('id')})" if isinstance(cwe, dict) and cwe.get("id") else ""
    more = str(result.get("more_info", ""))
    fix = _FIXES.get(test_id, f"see {more}" if more else "see bandit's documentation for this rule")
    return Finding(
        id=test_id,
        title=f"{result.get('issue_text', '').strip()}{cwe_text}",
        severity=severity if severity in _LOWER else "low",
        check="bandit",
        tool="bandit",
        location=location,
        evidence=f"{result.get('test_name', '')}, confidence {confidence or 'unknown'}: {code}",
        fix=fix,
        help_uri=more if more.startswith("https://") else "",
    )


def _flagged_line(code: str, line_number: object) -> str:
    """The flagged line from bandit's numbered context (``"89 x\\n90 y"`` -> ``"y"`` for line 90)."""
    for line in code.splitlines():
        number, _, text = line.partition(" ")
        if number.isdigit() and int(number) == line_number:
            return text.strip()[:300]
    return " ".join(code.split())[:300]


class BanditCheck:
    """The ``bandit`` check."""

    name = "bandit"

    def run(self, context: CheckContext) -> CheckOutcome:
        report = context.out_dir / "bandit.json"
        report.unlink(missing_ok=True)
        command = build_command(context, report)
        context.log(f"bandit: scanning {', '.join(scan_paths(context))}")
        code = context.run_tool(command, "bandit (security tier)")
        outcome = self._judge(context, report, code)
        outcome.command = tuple(command)
        return outcome

    def _judge(self, context: CheckContext, report: Path, code: int) -> CheckOutcome:
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return CheckOutcome(
                self.name, CheckStatus.ERROR, reason=f"bandit exited {code}: no report ({exc})"
            )
        if code not in (0, BANDIT_FOUND_ISSUES):
            return CheckOutcome(self.name, CheckStatus.ERROR, reason=f"bandit exited {code}")
        findings = [to_finding(r, context.root) for r in data.get("results") or () if isinstance(r, dict)]
        errors = [e for e in data.get("errors") or () if isinstance(e, dict)]
        metrics = data.get("metrics")
        scanned = [name for name in metrics if name != "_totals"] if isinstance(metrics, dict) else [""]
        if not scanned and not findings and not errors:  # nothing scanned is not a clean bill of health
            where = ", ".join(scan_paths(context))
            reason = f"no Python files to scan in {where} (set project.source or security.bandit.paths)"
            return CheckOutcome(self.name, CheckStatus.NOT_RUN, reason=reason)
        if errors:
            skipped = "; ".join(f"{e.get('filename')}: {e.get('reason')}" for e in errors[:3])
            return outcome_from(self.name, findings, f"{len(errors)} file(s) not scanned: {skipped}", True)
        return outcome_from(self.name, findings)


__all__ = ["BanditCheck", "build_command", "scan_paths", "to_finding"]
