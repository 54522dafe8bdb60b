"""``stagewise check``: the quick check before a commit (lint, types, unit tests, bandit)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from stagewise.cli.args import add_project_argument


def register(commands: Any) -> None:
    """Add ``check`` and its flags, one help line each."""
    parser = commands.add_parser(
        "check",
        help="the quick check before a commit: lint, type check, unit tests and bandit, in parallel",
        description="Run the project's linter (ruff, else flake8), type checker (mypy, when configured), "
        "the unit tier and bandit side by side, each a result in one run record and page; "
        "[check] in the project file sets the steps and the lint/types commands. "
        "Exit codes: 0 passed, 1 failed, 2 usage, 3 bad project file, "
        "4 a tool the check was asked to run is missing, 5 no tests collected, 130 interrupted.",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show every step's output as it runs")
    parser.add_argument(
        "--stage", metavar="STAGE", help="the stage whose env files the unit tests get (default: test)"
    )
    parser.add_argument(
        "--reports-dir", metavar="DIR", help="where run reports go (default: <project>/reports)"
    )
    parser.add_argument("--json", action="store_true", help="print the run record as JSON on stdout")
    add_project_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the project, run the check, render the verdict; returns the exit code."""
    from stagewise.check.run import CheckRequest, run_check
    from stagewise.cli.output import PlainReporter, render_summary
    from stagewise.project.loader import load_project
    from stagewise.report.summary import run_record

    project = load_project(Path(args.project or os.getcwd()))
    request = CheckRequest(
        verbose=args.verbose,
        reports_dir=Path(args.reports_dir).resolve() if args.reports_dir else None,
        stage=args.stage,
    )
    stream = sys.stderr if args.json else sys.stdout
    result = run_check(project, request, PlainReporter(stream))
    render_summary(result, stream)
    if args.json:
        record: dict[str, Any]
        try:
            record = json.loads((Path(result.run_dir) / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = run_record(result)
        print(json.dumps(record, indent=2))
    return int(result.exit_code)
