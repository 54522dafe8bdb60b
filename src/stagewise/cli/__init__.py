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
from stagewise.interrupts import ignore_from_now_on


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
        if exc.exit_code == ExitCode.INTERRUPTED:
            ignore_from_now_on()
        prefix = "error: " if exc.exit_code != ExitCode.INTERRUPTED else ""
        print(f"stagewise: {prefix}{_masked(str(exc))}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        ignore_from_now_on()
        print("stagewise: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.FAILED)
    except OSError as exc:
        # A directory the run needs (reports, locks, backups) cannot be made or written:
        # permissions or a full disk. One line naming the path, exit 4, never a traceback.
        print(f"stagewise: error: {_masked(_os_error_text(exc))}", file=sys.stderr)
        return int(ExitCode.MISSING)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _masked(text: str) -> str:
    """Error text with every secret of the resolved environments hidden (log tails carry them)."""
    from stagewise.project.env import known_secrets, mask_text

    return mask_text(text, known_secrets())


def _os_error_text(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return f"{reason}: check permissions and free disk space"
    target = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else str(exc.filename)
    return f"cannot use {target}: {reason} (check its permissions and free disk space)"
