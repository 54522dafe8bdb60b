"""The typed errors of stagewise and the one exit-code table.

Every failure the core can meet is a ``StagewiseError`` subclass carrying its
exit code, so the CLI maps errors to codes in exactly one place::

    StagewiseError                 (base; never raised itself)
    ├── UsageError            2    unknown flag, command, stage, tier or service
    ├── ConfigError           3    the project file is invalid (names file and key)
    ├── MissingError          4    a tool, a variable, a display or the target is missing
    ├── NoTestsError          5    a tier collected no tests where tests were expected
    └── InterruptedRun      130    Ctrl+C; children were stopped before raising

Failing tests are *results*, not errors: a tier that fails returns a result
whose status maps to ``ExitCode.FAILED``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, identical for every stagewise command."""

    OK = 0
    FAILED = 1
    USAGE = 2
    CONFIG = 3
    MISSING = 4
    NO_TESTS = 5
    INTERRUPTED = 130


class StagewiseError(Exception):
    """Root of all stagewise errors; ``str(err)`` is a one-line message."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(StagewiseError):
    """The command line asked for something that does not exist."""

    exit_code = ExitCode.USAGE


class ConfigError(StagewiseError):
    """The project file is invalid; the message names the file and key path."""

    exit_code = ExitCode.CONFIG

    def __init__(self, path: str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


class MissingError(StagewiseError):
    """Something the run needs is missing or unreachable; says how to get it."""

    exit_code = ExitCode.MISSING


class NoTestsError(StagewiseError):
    """Tests were expected but none were collected."""

    exit_code = ExitCode.NO_TESTS


class InterruptedRun(StagewiseError):
    """The run was interrupted; everything it started has been stopped."""

    exit_code = ExitCode.INTERRUPTED


class TierFailed(StagewiseError):
    """A finished run whose verdict is "failed", for callers that need an error.

    The pipeline itself returns failing tiers as results; commands that chain
    runs (``deploy ENV test``) raise this to stop with the right code.
    """

    exit_code = ExitCode.FAILED
