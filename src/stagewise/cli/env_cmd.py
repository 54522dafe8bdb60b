"""``stagewise env``: show a stage's resolved environment, secrets masked."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from stagewise.cli.args import add_project_argument


def register(commands: Any) -> None:
    """Add ``env``."""
    parser = commands.add_parser(
        "env",
        help="show a stage's resolved environment (secrets masked)",
        description="Resolve .env, .env.local, .env.<stage>, .env.<stage>.local (the process environment wins), "
        "check required variables, and show the result with secrets masked.",
    )
    parser.add_argument("--stage", metavar="STAGE", help="stage to resolve (default: test)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    add_project_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the resolved variables with where each came from."""
    from stagewise.operations.env import EnvRequest, resolve
    from stagewise.operations.records import envelope
    from stagewise.project.loader import load_project

    project = load_project(Path(args.project or os.getcwd()))
    result = resolve(EnvRequest(project, args.stage), os.environ)
    if args.json:
        print(json.dumps(envelope("env", result.record()), indent=2))
        return 0
    files = ", ".join(result.files_read) or "none found"
    print(f"# stage {result.stage} · project file {result.project_file} · env files: {files}")
    for var in result.variables:
        print(f"{var.name}={var.shown}  # {var.source}")
    return 0
