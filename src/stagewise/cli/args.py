"""What every command module shares: the typed-error parser and ``--project``.

Its own module so the command modules do not import ``parser`` (which imports
them all to build the tree): no import cycle.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from stagewise.errors import UsageError


class _OneLineHelp(argparse.HelpFormatter):
    """Wide enough that every flag's help stays on one line."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=28, width=118)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are typed, one line, and never exit itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _OneLineHelp)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} -h`)")


def add_project_argument(parser: argparse.ArgumentParser) -> None:
    """``--project DIR``: where to look for the project file (default: the current dir)."""
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="project directory (default: nearest stagewise.toml above the current directory)",
    )
