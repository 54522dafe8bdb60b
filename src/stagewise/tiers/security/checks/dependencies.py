"""The dependency audit: known vulnerabilities in pinned or installed packages, with pip-audit.

What is audited, in order of preference:

1. the files in ``security.dependencies.requirements``;
2. else every ``requirements*.txt`` at the project root;
3. else the packages installed in the project's interpreter (listed with
   :mod:`importlib.metadata` in that interpreter, so no pip is needed there;
   editable installs — the project itself — are left out).

pip-audit runs as a child of stagewise's interpreter with ``--no-deps
--disable-pip`` (the versions are already pinned: nothing is resolved or
downloaded) and writes JSON. The crucial part is reading that JSON honestly:
pip-audit prints "No known vulnerabilities found" and exits 0 even when it
*skipped* every package because the vulnerability service did not answer for
it (PyPI's per-release JSON missing behind a mirror, say). Here that is
``not run`` with the reason when nothing was audited, and ``partial`` when
some packages were — never ``passed``. A connection failure is ``not run``
too.

With ``security.dependencies.advisories`` the audit needs no network: the
local OSV copy is served on 127.0.0.1 for the run
(:mod:`stagewise.tiers.security.advisories`) and pip-audit queries it as its
OSV service; the result names the newest advisory's date.

PyPI's vulnerability records carry no severity, so a known vulnerability is
rated ``high``: it is published, exploitable code is often public, and the
fix is usually an upgrade. Accept one deliberately with an allow-list entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stagewise.tiers.security.checks.base import CheckContext
from stagewise.tiers.security.findings import CheckOutcome, CheckStatus, Finding, outcome_from

_UNREACHABLE_MARKERS = (
    "ConnectionError",
    "Max retries exceeded",
    "Failed to resolve",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Could not connect",
    "timed out",
    "Connection refused",
)

#: Run in the project's interpreter: its installed distributions as pinned requirement lines.
_FREEZE = """
import importlib.metadata as md, json, sys
seen = set()
for dist in md.distributions():
    name = dist.metadata.get("Name")
    if not name or name.lower() in seen:
        continue
    seen.add(name.lower())
    direct = dist.read_text("direct_url.json")
    if direct and (json.loads(direct).get("dir_info") or {}).get("editable"):
        continue
    sys.stdout.write(f"{name}=={dist.version}\\n")
"""


def requirement_files(context: CheckContext) -> list[str]:
    """The requirement files to audit (relative paths); empty means "the installed environment"."""
    configured = context.config.dependencies.requirements
    if configured:
        return list(configured)
    return sorted(p.name for p in context.root.glob("requirements*.txt") if p.is_file())


def build_command(
    context: CheckContext, files: list[Path], report: Path, osv_url: str | None = None
) -> list[str]:
    """The pip-audit argument list (never a shell string); ``osv_url`` is the local advisory server."""
    settings = context.config.dependencies
    command = [context.tool_python, "-m", "pip_audit"]
    for file in files:
        command += ["-r", str(file)]
    command += ["--no-deps", "--disable-pip", "-f", "json", "-o", str(report)]
    service = "osv" if osv_url else settings.service
    command += ["--progress-spinner", "off", "--timeout", f"{settings.timeout:g}", "-s", service]
    if osv_url or settings.osv_url:
        command += ["--osv-url", str(osv_url or settings.osv_url)]
    return command


def advisories_path(context: CheckContext) -> Path | None:
    """``security.dependencies.advisories`` as a path (relative ones from the project root)."""
    configured = context.config.dependencies.advisories
    return None if configured is None else context.root / Path(configured).expanduser()


def _local_env(env: Mapping[str, str]) -> dict[str, str]:
    """The child environment with 127.0.0.1 kept off any configured proxy."""
    child = dict(env)
    for key in ("NO_PROXY", "no_proxy"):
        child[key] = ",".join(p for p in (child.get(key, ""), "127.0.0.1", "localhost") if p)
    return child


def to_findings(data: dict[str, Any], source: str) -> tuple[list[Finding], list[str], int]:
    """pip-audit's JSON -> (findings, skip reasons, number of packages audited)."""
    findings: list[Finding] = []
    skipped: list[str] = []
    audited = 0
    for dependency in data.get("dependencies") or ():
        if not isinstance(dependency, dict):
            continue
        name = str(dependency.get("name", "?"))
        if dependency.get("skip_reason"):
            skipped.append(str(dependency["skip_reason"]))
            continue
        audited += 1
        version = str(dependency.get("version", "?"))
        for vuln in dependency.get("vulns") or ():
            if isinstance(vuln, dict):
                findings.append(_finding(name, version, vuln, source))
    return findings, skipped, audited


def _finding(name: str, version: str, vuln: dict[str, Any], source: str) -> Finding:
    vuln_id = str(vuln.get("id", "UNKNOWN"))
    aliases = sorted({str(a) for a in vuln.get("aliases") or () if a != vuln_id})  # pip-audit: set order
    fixed = [str(v) for v in vuln.get("fix_versions") or ()]
    description = " ".join(str(vuln.get("description") or "").split())[:300]
    also = f" ({', '.join(aliases)})" if aliases else ""
    if fixed:
        fix = f"upgrade {name} to {fixed[0]} or later (pin {name}>={fixed[0]})"
    else:
        fix = f"no fixed release of {name} yet: drop it, or accept it in the allow-list with a reason and an expiry"
    return Finding(
        id=vuln_id,
        title=f"{name} {version} has a known vulnerability {vuln_id}{also}",
        severity="high",
        check="dependencies",
        tool="pip-audit",
        location=f"{source}: {name}=={version}",
        evidence=description or "(no description in the vulnerability record)",
        fix=fix,
    )


def _unreachable(lines: list[str]) -> str | None:
    for line in reversed(lines):
        if any(marker in line for marker in _UNREACHABLE_MARKERS):
            return line.strip()[:240]
    return None


class DependencyCheck:
    """The ``dependencies`` check (pip-audit)."""

    name = "dependencies"

    def run(self, context: CheckContext) -> CheckOutcome:
        files = requirement_files(context)
        if files:
            missing = [f for f in files if not (context.root / f).is_file()]
            if missing:
                reason = f"security.dependencies.requirements: {missing[0]} does not exist in {context.root}"
                return CheckOutcome(self.name, CheckStatus.ERROR, reason=reason)
            paths = [context.root / f for f in files]
            source = ", ".join(files)
        else:
            frozen = self._freeze(context)
            if isinstance(frozen, CheckOutcome):
                return frozen
            paths, source = [frozen], f"installed in {context.project_python}"
        local = advisories_path(context)
        if local is None:
            return self._audit(context, paths, source, None)
        from stagewise.tiers.security.advisories import AdvisoryProblem, load_advisories, serve

        try:
            advisories = load_advisories(local)
        except AdvisoryProblem as exc:
            return CheckOutcome(
                self.name, CheckStatus.ERROR, reason=f"security.dependencies.advisories: {exc}"
            )
        with serve(advisories) as url:
            context.log(f"dependencies: {advisories.count} local advisories from {local} served at {url}")
            outcome = self._audit(context, paths, source, url)
        outcome.notes.append(advisories.describe())
        return outcome

    def _audit(
        self, context: CheckContext, paths: list[Path], source: str, osv_url: str | None
    ) -> CheckOutcome:
        report = context.out_dir / "pip-audit.json"
        report.unlink(missing_ok=True)
        command = build_command(context, paths, report, osv_url)
        service = "local OSV advisories" if osv_url else f"{context.config.dependencies.service} service"
        context.log(f"dependencies: pip-audit over {source} ({service})")
        lines: list[str] = []

        def keep(line: str) -> None:
            lines.append(line)
            del lines[:-60]
            context.log(line)

        from stagewise.tiers.process import run_streaming

        env = _local_env(context.env) if osv_url else dict(context.env)
        code = run_streaming(command, context.root, env, keep, what="pip-audit (security tier)")
        outcome = self._judge(report, code, lines, source)
        outcome.command = tuple(command)
        return outcome

    def _freeze(self, context: CheckContext) -> Path | CheckOutcome:
        import subprocess

        try:
            done = subprocess.run(
                # -I: the project's folder must not shadow the installed distributions (*.egg-info).
                [context.project_python, "-I", "-c", _FREEZE],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                cwd=context.root,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CheckOutcome(self.name, CheckStatus.ERROR, reason=f"cannot list installed packages: {exc}")
        if done.returncode != 0:
            reason = f"cannot list installed packages: {done.stderr.strip()[-200:]}"
            return CheckOutcome(self.name, CheckStatus.ERROR, reason=reason)
        frozen = context.out_dir / "installed-requirements.txt"
        frozen.write_text(done.stdout, encoding="utf-8")
        return frozen

    def _judge(self, report: Path, code: int, lines: list[str], source: str) -> CheckOutcome:
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            unreachable = _unreachable(lines)
            if unreachable is not None:
                return CheckOutcome(
                    self.name, CheckStatus.NOT_RUN, reason=f"no vulnerability data reachable: {unreachable}"
                )
            tail = next((line.strip() for line in reversed(lines) if line.strip()), "(no output)")
            return CheckOutcome(self.name, CheckStatus.ERROR, reason=f"pip-audit exited {code}: {tail[:240]}")
        findings, skipped, audited = to_findings(data, source)
        if not skipped and audited == 0:
            return CheckOutcome(self.name, CheckStatus.NOT_RUN, reason=f"no packages to audit in {source}")
        if skipped and audited == 0:
            reason = (
                f"no vulnerability data reachable: pip-audit could audit none of the {len(skipped)} "
                f"package(s) ({skipped[0]})"
            )
            return CheckOutcome(self.name, CheckStatus.NOT_RUN, reason=reason)
        if skipped:
            reason = f"{len(skipped)} of {len(skipped) + audited} package(s) not audited ({skipped[0]})"
            return outcome_from(self.name, findings, reason, partial=True)
        return outcome_from(self.name, findings)


__all__ = ["DependencyCheck", "advisories_path", "build_command", "requirement_files", "to_findings"]
