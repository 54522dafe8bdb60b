"""``stagewise ci github|gitlab [--write] [--force]``: the project's CI pipeline from its project file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from stagewise.cli.args import add_project_argument


def register(commands: Any) -> None:
    """Add ``ci``."""
    parser = commands.add_parser(
        "ci",
        help="print (or --write) the CI pipeline: a job per tier, each trigger running its profile",
        description="Write the project's pipeline for GitHub Actions or GitLab CI: on pull requests the "
        "quick check (stagewise check) first, then a job per tier in pyramid order, shards as a matrix "
        "merged into one verdict, PostgreSQL when the data config uses it, the venv cached, reports "
        "uploaded; pull requests run profile pr, pushes to main profile main, the schedule nightly.",
    )
    parser.add_argument("which", choices=("github", "gitlab"), help="the CI to write for")
    parser.add_argument(
        "--write",
        action="store_true",
        help="write .github/workflows/stagewise.yml or .gitlab-ci.yml instead of printing it",
    )
    parser.add_argument(
        "--force", action="store_true", help="with --write: replace a file stagewise did not write"
    )
    add_project_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the file, or write it and say where."""
    from stagewise.ci.write import render_ci, write_ci
    from stagewise.project.loader import load_project

    project = load_project(Path(args.project or os.getcwd()))
    if args.write:
        path = write_ci(project, args.which, force=args.force)
        print(f"wrote {path.relative_to(project.root)}")
    else:
        print(render_ci(project, args.which), end="")
    return 0
