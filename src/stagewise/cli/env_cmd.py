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
        description="Resolve .env then .env.<stage> (the process environment wins), "
        "check required variables, and show the result with secrets masked.",
    )
    parser.add_argument("--stage", metavar="STAGE", help="stage to resolve (default: test)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    add_project_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the resolved variables with where each came from."""
    from stagewise.project.env import resolve_env
    from stagewise.project.loader import load_project
    from stagewise.project.policy import stage_named

    project = load_project(Path(args.project or os.getcwd()))
    stage = stage_named(project, args.stage)
    provided = {"STAGEWISE_STAGE": stage.name, "TEST_ENVIRONMENT": stage.name}
    if stage.base_url:
        provided |= {"STAGEWISE_BASE_URL": stage.base_url, "TARGET_HOST": stage.base_url}
    resolved = resolve_env(project, stage, os.environ, provided)
    if args.json:
        payload = {
            "stage": stage.name,
            "project_file": project.describe_file(),
            "files_read": list(resolved.files_read),
            "variables": {
                v.name: {"value": v.shown(), "source": v.source, "secret": v.secret}
                for v in sorted(resolved.variables.values(), key=lambda v: v.name)
            },
        }
        print(json.dumps(payload, indent=2))
        return 0
    files = ", ".join(resolved.files_read) or "none found"
    print(f"# stage {stage.name} · project file {project.describe_file()} · env files: {files}")
    for var in sorted(resolved.variables.values(), key=lambda v: v.name):
        print(f"{var.name}={var.shown()}  # {var.source}")
    return 0
