"""``stagewise test``: the spec's test_stages.py grammar."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stagewise.cli.output import PlainReporter, render_summary, wants_live_progress
from stagewise.cli.parser import add_project_argument
from stagewise.project.model import TIER_ORDER

if TYPE_CHECKING:
    from stagewise.pipeline.results import RunResult

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
        parser.add_argument(f"--{tier}", action="store_true", help=_TIER_HELP.get(tier, f"run the {tier} tier"))
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
    parser.add_argument(
        "--reruns",
        metavar="N",
        type=_reruns,
        default=0,
        help="rerun failing tests up to N times; one that then passes is reported as flaky",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="plain progress lines even on a terminal (also when CI=true)",
    )
    add_project_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the project, run the tiers, render the verdict; returns the exit code."""
    from stagewise.pipeline.test_run import TestRequest, run_tests
    from stagewise.project.loader import load_project

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
        reruns=args.reruns,
        reports_dir=Path(args.reports_dir).resolve() if args.reports_dir else None,
        color=sys.stdout.isatty() and "NO_COLOR" not in os.environ and not args.json,
    )
    stream = sys.stderr if args.json else sys.stdout
    if wants_live_progress(stream, args.no_progress, os.environ):
        from stagewise.cli.progress import RichReporter

        live = RichReporter(stream, verbose=args.verbose)
        try:
            result = run_tests(project, request, live)
        finally:
            live.close()
        live.render_summary(_written_record(result))
    else:
        result = run_tests(project, request, PlainReporter(stream))
        render_summary(result, stream)
    if args.json:
        print(json.dumps(_written_record(result), indent=2))
    return int(result.exit_code)


def _written_record(result: RunResult) -> dict[str, Any]:
    """The run's summary.json as written (with git and tool versions), else rebuilt from the result."""
    from stagewise.report.summary import run_record

    try:
        record: dict[str, Any] = json.loads(
            (Path(result.run_dir) / "summary.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return run_record(result)
    return record


def _reruns(value: str) -> int:
    """``--reruns N``: a whole number from 0 to 10 (more hides real failures behind retries)."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 10:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 10, not {value!r}")
    return number
