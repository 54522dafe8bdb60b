"""The command line: parse, dispatch, render, and map errors to exit codes.

This package is the only place that prints or exits; the core returns results
and raises :class:`~stagewise.errors.StagewiseError` subclasses, which
:func:`main` turns into a one-line message and the error's exit code.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from types import FrameType

from stagewise.errors import ExitCode, StagewiseError


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run one stagewise command and return its exit code."""
    from stagewise.cli.parser import build_parser, parse

    args_list = list(sys.argv[1:] if argv is None else argv)
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        parser = build_parser()
        if not args_list:
            parser.print_help(sys.stderr)
            return ExitCode.USAGE
        args = parse(parser, args_list)
        code: int = args.handler(args)
        return code
    except StagewiseError as exc:
        print(
            f"stagewise: {'error: ' if exc.exit_code != ExitCode.INTERRUPTED else ''}{exc}", file=sys.stderr
        )
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("stagewise: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.FAILED)
    finally:
        signal.signal(signal.SIGTERM, previous)
