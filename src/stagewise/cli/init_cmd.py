"""``stagewise init``: write a commented stagewise.toml from what the project already has."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from stagewise.errors import UsageError


def register(commands: Any) -> None:
    """Add ``init``."""
    parser = commands.add_parser(
        "init",
        help="write a commented stagewise.toml for this project",
        description="Read the project (pytest config, test folders, alembic, compose files, .env files, "
        "locustfile, the web app, a local .venv) and write a commented stagewise.toml at its root; "
        "add reports/, backups/ and .stagewise/ to .gitignore.",
    )
    parser.add_argument(
        "--project", metavar="DIR", help="the project's root directory (default: the current directory)"
    )
    parser.add_argument("--print", action="store_true", help="print the file instead of writing anything")
    parser.add_argument("--force", action="store_true", help="replace an existing stagewise.toml")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Scan, render, and write (or print) the project file."""
    from stagewise.scaffold import (
        check_loads,
        render_project_file,
        scan_project,
        update_gitignore,
        write_project_file,
    )

    root = Path(args.project or os.getcwd())
    if not root.is_dir():
        raise UsageError(f"--project {root}: no such directory")
    scan = scan_project(root)
    text = render_project_file(scan)
    if args.print:
        check_loads(text)
        print(text, end="")
        return 0
    path = write_project_file(scan.root, text, force=args.force, has_tool_table=scan.has_tool_table)
    added = update_gitignore(scan.root)
    tiers = ", ".join(f"{t.name} ({' '.join(t.paths)})" for t in scan.tiers) or "none found (defaults)"
    print(f"wrote {path}")
    print(f"tiers: {tiers}")
    print(
        f".gitignore: added {' '.join(added)}"
        if added
        else ".gitignore: already ignores reports/ backups/ .stagewise/"
    )
    return 0
