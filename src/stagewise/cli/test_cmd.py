"""``stagewise test``: the spec's test_stages.py grammar."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from stagewise.cli.output import PlainReporter, render_summary
from stagewise.cli.parser import add_project_argument
from stagewise.project.model import TIER_ORDER

_TIER_HELP = {
    "unit": "run the unit tier (the default when no tier flag is given)",
    "integration": "run the integration tier",
    "api": "run the api tier against the target (--host)",
    "e2e": "run the e2e tier in a real Chromium against the target (--host)",
}


def register(commands: Any) -> None:
    """Add ``test`` and its flags, one help line each."""
    parser = commands.add_parser(
        "test",
        help="run test tiers (unit, integration, api, e2e) for a stage",
        description="Run the test pyramid tier by tier and print one verdict. "
        "Exit codes: 0 passed, 1 failed, 2 usage, 3 bad project file, "
        "4 something missing/unreachable, 5 no tests collected, 130 interrupted.",
    )
    for tier in TIER_ORDER:
        parser.add_argument(f"--{tier}", action="store_true", help=_TIER_HELP[tier])
    parser.add_argument(
        "--all", action="store_true", help="run every tier the stage allows, in pyramid order"
    )
    parser.add_argument(
        "--stage", metavar="STAGE", help="dev, test, staging, prod or a project stage (default: test)"
    )
    parser.add_argument(
        "--coverage", action="store_true", help="measure coverage (unit and integration tiers)"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show every test's name and status")
    parser.add_argument(
        "--host", metavar="URL", help="target URL for api/e2e (default: the stage's base_url)"
    )
    parser.add_argument(
        "--no-headless", action="store_true", help="show the browser window (needs a display)"
    )
    parser.add_argument(
        "--install-missing", action="store_true", help="pip-install missing test tools instead of failing"
    )
    parser.add_argument(
        "--reports-dir", metavar="DIR", help="where run reports go (default: <project>/reports)"
    )
    parser.add_argument("--json", action="store_true", help="print the run record as JSON on stdout")
    add_project_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the project, run the tiers, render the verdict; returns the exit code."""
    from stagewise.pipeline.test_run import TestRequest, run_tests
    from stagewise.project.loader import load_project
    from stagewise.report.summary import run_record

    project = load_project(Path(args.project or os.getcwd()))
    request = TestRequest(
        tiers=tuple(t for t in TIER_ORDER if getattr(args, t)),
        run_all=args.all,
        stage=args.stage,
        coverage=args.coverage,
        verbose=args.verbose,
        host=args.host,
        headless=not args.no_headless,
        install_missing=args.install_missing,
        reports_dir=Path(args.reports_dir).resolve() if args.reports_dir else None,
        color=sys.stdout.isatty() and "NO_COLOR" not in os.environ and not args.json,
    )
    stream = sys.stderr if args.json else sys.stdout
    reporter = PlainReporter(stream)
    result = run_tests(project, request, reporter)
    render_summary(result, stream)
    if args.json:
        print(json.dumps(run_record(result), indent=2))
    return int(result.exit_code)
