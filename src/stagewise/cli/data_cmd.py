"""``deploy ENV migrate | backup | restore``: call the core's data operations, render their results."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from stagewise.errors import ExitCode


def run(  # noqa: PLR0917 - the values deploy_cmd.run has resolved, passed on once
    target: Any, command: str, options: argparse.Namespace, say: Any, confirm: Any, printed_json: Any
) -> int:
    """Run one data command; typed errors propagate to ``cli.main``."""
    from stagewise.operations import data

    if command == "migrate":
        return _migrate(target, options, say, confirm, printed_json)
    if command == "backup":
        mode: data.BackupMode = (
            "list" if options.list else "verify" if options.verify is not None else "backup"
        )
        result = data.backup(data.BackupRequest(target, mode, options.verify or None, options.keep), say)
        if printed_json(options, f"deploy.backup.{mode}", result.record()):
            return 0
        if mode == "list":
            if not result.backups:
                print(f"no backups of {result.env} in {result.folder}")
            for entry in result.backups:
                if entry.problem:
                    print(f"{entry.name}  unreadable manifest: {entry.problem}")
                else:
                    print(
                        f"{entry.name}  {entry.size:>12} bytes  revision {entry.revision}  {entry.rows} rows"
                    )
        elif mode == "backup":
            print(str(result.path))
        return 0
    restored = data.restore(data.RestoreRequest(target, options.file, options.from_env), say, confirm)
    if printed_json(options, "deploy.restore", restored.record()):
        return 0
    if restored.safety is not None:
        say(f"the data as it was before is kept in {restored.safety}")
    return 0


def _migrate(target: Any, options: argparse.Namespace, say: Any, confirm: Any, printed_json: Any) -> int:
    from stagewise.operations import data

    mode: data.MigrateMode = (
        "history" if options.history else "sql" if options.sql else "check" if options.check else "upgrade"
    )
    result = data.migrate(data.MigrateRequest(target, mode, options.to, options.downgrade), say, confirm)
    if mode == "check":
        # JSON only with --json: without it, a line for people (exit 1 says "behind" to scripts).
        if not printed_json(options, "deploy.migrate.check", result.record()) and result.at_head:
            print(f"{result.env} is at head ({result.revision})")
        if not result.at_head:
            say(f"{result.env} is at {result.revision or 'base'}, not at head ({', '.join(result.heads)})")
            return int(ExitCode.FAILED)
        return 0
    if printed_json(options, f"deploy.migrate.{mode}", result.record()):
        return 0
    if mode == "sql" and not result.pending:
        # On stderr: `--sql > upgrade.sql` must leave an empty file, not this sentence.
        print(
            f"nothing pending: {result.env} is at {result.revision or 'base'}, no SQL to print",
            file=sys.stderr,
        )
    elif mode in ("history", "sql"):
        print(result.output, end="")
    return 0
