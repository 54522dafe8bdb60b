"""``deploy ENV migrate | backup | restore``: render the data operations' results."""

from __future__ import annotations

import argparse
import json
from typing import Any

from stagewise.errors import ExitCode


def run(  # noqa: PLR0917 - mirrors deploy_cmd._dispatch
    project: Any, stage: Any, env: dict[str, str], command: str, options: argparse.Namespace, say: Any
) -> int:
    """Run one data command; typed errors propagate to ``cli.main``."""
    from stagewise.backends.registry import make_backend
    from stagewise.dataops import operations
    from stagewise.dataops.manifest import read_manifest

    data = operations.data_env(project, stage, env)
    backend = None
    if project.data.app_services and command in ("migrate", "restore"):
        backend = make_backend(project, stage, env, options.backend)
    if command == "migrate":
        return _migrate(data, options, say, backend)
    if command == "backup":
        if options.list:
            backups = operations.list_backups(data)
            if not backups:
                print(f"no backups of {stage.name} in {data.backups}")
            for path in backups:
                try:
                    m = read_manifest(path)
                    print(
                        f"{path.name}  {m.size:>12} bytes  revision {m.revision}  {sum(m.tables.values())} rows"
                    )
                except Exception as exc:
                    print(f"{path.name}  unreadable manifest: {exc}")
            return 0
        if options.verify is not None:
            path = operations.choose_backup(data, options.verify or None)
            operations.verify(data, path, say)
            return 0
        path = operations.backup(data, say, keep=options.keep)
        print(str(path))
        return 0
    path = operations.choose_backup(data, options.file)
    safety = operations.restore(data, path, backend, say, from_env=options.from_env)
    if safety is not None:
        say(f"the data as it was before is kept in {safety}")
    return 0


def _migrate(data: Any, options: argparse.Namespace, say: Any, backend: Any) -> int:
    from stagewise.dataops import operations
    from stagewise.dataops.migrate import migrate_args

    if options.history:
        print(data.alembic.run("history", "--verbose").stdout, end="")
        return 0
    if options.sql:
        current = None
        try:
            current = data.store.revision()
        except Exception:
            current = None
        print(data.alembic.run(*migrate_args(None, None, sql=True, current=current)).stdout, end="")
        return 0
    if options.check:
        current, heads = data.store.revision(), data.alembic.heads()
        at_head = current in heads
        print(json.dumps({"current": current, "heads": heads, "at_head": at_head}))
        if not at_head:
            say(f"{data.stage.name} is at {current or 'base'}, not at head ({', '.join(heads)})")
            return int(ExitCode.FAILED)
        return 0
    operations.migrate(data, say, to=options.to, downgrade=options.downgrade, backend=backend)
    return 0
