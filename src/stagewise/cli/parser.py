"""The argument parser: one-line usage errors raised as ``UsageError`` (exit 2)."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from stagewise import __version__
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


def build_parser() -> Parser:
    """The full command tree; each command module adds its own arguments."""
    from stagewise.cli import deploy_cmd, env_cmd, images_cmd, init_cmd, regions_cmd, report_cmd, test_cmd

    parser = Parser(
        prog="stagewise",
        description="Take a web service through its stages: test tiers, environments, data.",
    )
    parser.add_argument("--version", action="version", version=f"stagewise {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    test_cmd.register(commands)
    env_cmd.register(commands)
    deploy_cmd.register(commands)
    images_cmd.register(commands)
    report_cmd.register(commands)
    regions_cmd.register(commands)
    init_cmd.register(commands)
    return parser


def parse(parser: Parser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; unknown flags name the sub-command whose help lists the valid ones."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        where = f"stagewise {args.command}" if getattr(args, "command", None) else "stagewise"
        raise UsageError(f"unrecognized arguments: {' '.join(extras)} (see `{where} -h`)")
    return args


def add_project_argument(parser: argparse.ArgumentParser) -> None:
    """``--project DIR``: where to look for the project file (default: the current dir)."""
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="project directory (default: nearest stagewise.toml above the current directory)",
    )
