"""The typed errors of stagewise and the one exit-code table.

Every failure the core can meet is a ``StagewiseError`` subclass carrying its
exit code, so the CLI maps errors to codes in exactly one place::

    StagewiseError                 (base; never raised itself)
    ├── UsageError            2    unknown flag, command, stage, tier or service
    ├── ConfigError           3    the project file is invalid (names file and key)
    ├── MissingError          4    a tool, a variable, a display or the target is missing
    ├── InterruptedRun      130    Ctrl+C; children were stopped before raising
    ├── DeployError           1    a service will not start or stay up; a data step failed
    │   └── VerifyError       1    a backup restored into scratch does not match its manifest
    ├── CorruptBackupError    1    a backup's checksum, size or manifest is wrong; nothing touched
    ├── LockedError           1    another operation holds the environment's lock
    └── ImageBuildError       1    an image build step failed

A tier that collects no tests is a result too (``TierStatus.NO_TESTS`` -> exit 5).

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


class InterruptedRun(StagewiseError):
    """The run was interrupted; everything it started has been stopped."""

    exit_code = ExitCode.INTERRUPTED


class DeployError(StagewiseError):
    """A deploy operation failed (exit 1): a service that will not start or stay up."""


class VerifyError(DeployError):
    """A backup restored into a scratch target does not match its manifest (exit 1)."""


class CorruptBackupError(StagewiseError):
    """A backup whose checksum, size or manifest does not match (exit 1); nothing was touched."""


class LockedError(StagewiseError):
    """Another operation holds the environment's lock (exit 1); says who and since when."""


class ImageBuildError(StagewiseError):
    """An image could not be built (exit 1); the message says which step failed."""


class MigrationGateRefused(StagewiseError):
    """The migration gate refused a release (exit 1): a lint error, a failed rehearsal, an old
    version that breaks on the new schema. Nothing live was touched."""


class ReleaseRefused(DeployError):
    """A release or rollback refused or rolled back (exit 1): the old version still serves."""
