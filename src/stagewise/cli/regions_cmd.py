"""``stagewise regions up | down | status``: the local multi-region topology by hand.

``up`` builds it (etcd, a PostgreSQL node under Patroni per region, a region
service per region, the router), prints the URLs, DSNs and the writes' bearer
token, and holds it until Ctrl+C, then removes everything: the link proxies
live in this process and every other part is its journalled child, so the
topology lives as long as it.
``down`` reverts whatever a crashed or killed run left (the journal);
``status`` lists what the journal says may still exist.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from stagewise.cli.args import add_project_argument


def register(commands: Any) -> None:
    """Add ``regions`` and its three actions."""
    parser = commands.add_parser(
        "regions",
        help="build, inspect or tear down the local multi-region topology",
        description="Manage the local topology the resilience tier measures. "
        "Exit codes: 0 done, 2 usage, 3 bad project file, 4 something missing, 130 interrupted.",
    )
    parser.add_argument("action", choices=("up", "down", "status"), help="up (until Ctrl+C), down, status")
    parser.add_argument("--json", action="store_true", help="status/up: print JSON")
    add_project_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action; errors are typed and mapped by ``cli.main``."""
    from stagewise.project.loader import load_project
    from stagewise.tiers.resilience.journal import Journal

    project = load_project(Path(args.project or os.getcwd()))
    journal = Journal(project.root / project.resilience.state_dir)
    if args.action == "status":
        pending = journal.pending()
        live = journal.live_runs()
        if args.json:
            print(
                json.dumps(
                    {"journals": str(journal.directory), "pending": pending, "live_runs": live}, indent=2
                )
            )
            return 0
        if live:
            print(f"running now (not touched by `regions down`): pid {', '.join(str(p) for p in live)}")
        if not pending:
            print(f"no resilience leftovers in {journal.directory}")
        else:
            print(f"{len(pending)} journalled item(s) may still exist (stagewise regions down reverts them):")
            for entry in pending:
                print(f"  {entry.get('kind')}: {entry.get('what')}")
        return 0
    if args.action == "down":
        count = journal.replay(lambda line: print(line, file=sys.stderr))
        print(f"reverted {count} journalled item(s)" if count else "nothing to revert")
        return 0
    return _up(project, journal, args.json)


def _up(project: Any, journal: Any, as_json: bool) -> int:
    from stagewise.errors import InterruptedRun
    from stagewise.interrupts import interrupt_once
    from stagewise.tiers.resilience.topology import build_local

    journal.replay(lambda line: print(line, file=sys.stderr))
    deployment = None
    # From the first Ctrl+C on, later ones are not delivered: the teardown below runs whole.
    with interrupt_once():
        try:
            deployment = build_local(
                project.resilience,
                journal,
                project.root / project.resilience.state_dir,
                on_note=lambda line: print(line, file=sys.stderr),
                root=project.root,
            )
            for note in deployment.notes:
                print(f"resilience: {note}", file=sys.stderr)
            regions = {
                r.name: {
                    "role": r.role,
                    "url": r.url,
                    "dsn": r.dsn,
                    "weight": r.weight,
                    "location": r.location,
                }
                for r in deployment.regions.values()
            }
            token = deployment.write_headers.get("Authorization", "").removeprefix("Bearer ")
            if as_json:
                print(
                    json.dumps(
                        {"entry_url": deployment.entry_url, "regions": regions, "token": token}, indent=2
                    ),
                    flush=True,
                )
            else:
                print(f"entry URL (router): {deployment.entry_url}")
                for name, region in regions.items():
                    print(f"  {name:10} {region['role']:8} {region['url']}  {region['dsn']}")
                print(f"writes take: Authorization: Bearer {token}")
                print("Ctrl+C tears it all down.", flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt as exc:
            raise InterruptedRun("regions down: everything `regions up` started was stopped") from exc
        finally:
            if deployment is not None:
                deployment.close()
            journal.undo_all()
