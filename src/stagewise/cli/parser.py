"""The argument parser: one-line usage errors raised as ``UsageError`` (exit 2)."""

from __future__ import annotations

import argparse

from stagewise import __version__
from stagewise.cli.args import Parser, add_project_argument
from stagewise.errors import UsageError


def build_parser() -> Parser:
    """The full command tree; each command module adds its own arguments."""
    from stagewise.cli import (
        check_cmd,
        ci_cmd,
        completion_cmd,
        deploy_cmd,
        env_cmd,
        images_cmd,
        init_cmd,
        regions_cmd,
        report_cmd,
        schema_cmd,
        test_cmd,
    )

    parser = Parser(
        prog="stagewise",
        description="Take a web service through its stages: test tiers, environments, data.",
    )
    parser.add_argument("--version", action="version", version=f"stagewise {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    test_cmd.register(commands)
    check_cmd.register(commands)
    env_cmd.register(commands)
    deploy_cmd.register(commands)
    images_cmd.register(commands)
    report_cmd.register(commands)
    regions_cmd.register(commands)
    init_cmd.register(commands)
    completion_cmd.register(commands)
    schema_cmd.register(commands)
    ci_cmd.register(commands)
    return parser


def parse(parser: Parser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; unknown flags name the sub-command whose help lists the valid ones.

    ``stagewise test ... -- ARGS``: what follows the first ``--`` is pytest's and
    never reaches argparse (which would read ``-k`` there as its own). A test
    selection may sit between flags; argparse takes only its first run of
    positionals, so the later ones come back as extras and join it here.
    """
    passthrough: list[str] | None = None
    if argv[:1] == ["test"] and "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args, extras = parser.parse_known_args(argv)
    if passthrough is not None:
        args.pytest_args = passthrough
    if isinstance(getattr(args, "selection", None), list):
        args.selection += [e for e in extras if not e.startswith("-")]
        extras = [e for e in extras if e.startswith("-")]
    if extras:
        where = f"stagewise {args.command}" if getattr(args, "command", None) else "stagewise"
        raise UsageError(f"unrecognized arguments: {' '.join(extras)} (see `{where} -h`)")
    return args


__all__ = ["Parser", "add_project_argument", "build_parser", "parse"]
