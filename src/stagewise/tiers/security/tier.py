"""The security tier behind the ``Tier`` protocol: builds a ``SecurityRun`` and runs it.

Its rules before anything runs: a scan on a protected stage needs ``--yes``,
``--active`` needs the security tier, and a bad allow-list is exit 3.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from stagewise.errors import UsageError
from stagewise.project.model import Project, StageConfig
from stagewise.project.policy import stage_named
from stagewise.tiers.base import TierContext, TierPlan, ToolNeed
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import TierResult
from stagewise.tiers.tools import PYTEST

if TYPE_CHECKING:
    from stagewise.tiers.security.allowlist import AllowList

NAME = "security"

#: The keys of ``tiers[]`` in summary.json that the security runner's record holds.


class SecurityTier:
    """The security checks plus the project's own tests/security (pytest)."""

    name = NAME
    on_request = True

    def tools(self, project: Project, plan: TierPlan, request: TestRequest) -> Sequence[ToolNeed]:
        # The scanners are stagewise's own `security` extra: they run in stagewise's interpreter.
        from stagewise.tiers.security import CHECK_TOOLS

        security = project.security
        checks = [c for c in security.checks if c != "zap" or security.zap.url is not None]
        return (
            ToolNeed(PYTEST),
            *(ToolNeed(CHECK_TOOLS.get(c), in_stagewise=True, check=c) for c in checks),
        )

    def check_request(self, stage: StageConfig, request: TestRequest, tiers: Sequence[str]) -> None:
        """A scan on a protected stage needs --yes; --active needs the security tier (exit 2).

        A scan sends fuzzed writes, and ``--active`` sends attack payloads, to
        whatever the stage points at.
        """
        if request.active and NAME not in tiers and not request.run_all and request.stage is None:
            raise UsageError("--active applies to the security tier: add --security")
        if NAME not in tiers or not stage.protected or request.yes:
            return
        what = "an active security scan (--active)" if request.active else "a security scan"
        raise UsageError(f"{stage.name} is protected: refusing to run {what} against it without --yes")

    def validate(self, project: Project, request: TestRequest) -> None:
        security_allowlist(project)  # a bad allow-list is exit 3 before anything runs

    def run(self, context: TierContext) -> TierResult:
        from stagewise.tiers.pytest_tier import PytestRun
        from stagewise.tiers.security import SecurityRun, run_security_tier

        project, plan = context.project, context.plan
        out_dir = context.run_dir / "security"
        tests = PytestRun(
            tier=NAME,
            python=context.python,
            cwd=context.root,
            paths=plan.paths,
            env=context.env,
            junit_path=out_dir / "junit-project-tests.xml",
            log_path=out_dir / "project-tests.log",
            markers=plan.markers,
            args=plan.args,
            verbose=context.verbose,
            secrets=context.secrets,
        )
        run = SecurityRun(
            root=context.root,
            target=context.target,
            config=project.security,
            allowlist=security_allowlist(project),
            tool_python=sys.executable,
            project_python=context.python,
            source_paths=project.coverage.source,
            env=context.env,
            out_dir=out_dir,
            log_path=context.run_dir / "security.log",
            junit_path=context.run_dir / "junit-security.xml",
            tests=tests,
            active=context.request.active,
            verbose=context.verbose,
            secrets=context.secrets,
            # Mapping findings to route handlers imports the app with the stage's env; on a
            # protected stage that import could touch live data, so the source is read instead.
            import_app=not stage_named(project, context.request.stage).protected,
        )
        return run_security_tier(run, context.log)


def security_allowlist(project: Project) -> AllowList:
    """The project's security allow-list, validated (ConfigError, exit 3, on a bad entry)."""
    from stagewise.project.security import DEFAULT_ALLOWLIST
    from stagewise.tiers.security.allowlist import load_allowlist

    configured = project.security.allowlist
    return load_allowlist(project.root / configured, required=configured != DEFAULT_ALLOWLIST)


TIER = SecurityTier()
