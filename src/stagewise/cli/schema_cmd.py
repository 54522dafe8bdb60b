"""``stagewise schema toml|summary``: print a shipped JSON Schema, or with ``--path`` where it is.

Editors (Even Better TOML / taplo, VS Code's JSON support) take a schema by
path or URL; ``--path`` gives the file inside the installed package, so a
setting can point at it and follow upgrades.
"""

from __future__ import annotations

import argparse
from typing import Any

from stagewise.schemas import SCHEMAS


def register(commands: Any) -> None:
    """Add ``schema``."""
    parser = commands.add_parser(
        "schema",
        help="print the JSON Schema of stagewise.toml or of summary.json",
        description="Print the JSON Schema (draft 2020-12) of the project file (toml) or of a run's "
        "reports/<run>/summary.json (summary), for editors and validators.",
    )
    parser.add_argument("which", choices=tuple(SCHEMAS), help="toml: stagewise.toml; summary: summary.json")
    parser.add_argument("--path", action="store_true", help="print the schema file's path instead")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the schema (or its path) on stdout."""
    from stagewise.schemas import schema_path

    path = schema_path(args.which)
    print(path if args.path else path.read_text(encoding="utf-8"), end="\n" if args.path else "")
    return 0
