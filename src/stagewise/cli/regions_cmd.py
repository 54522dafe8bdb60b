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
    """Call the core's regions lifecycle and render what it returns."""
    from stagewise.operations import regions
    from stagewise.operations.records import envelope
    from stagewise.project.loader import load_project

    project = load_project(Path(args.project or os.getcwd()))
    if args.action == "status":
        state = regions.status(project)
        if args.json:
            print(json.dumps(envelope("regions.status", state.record()), indent=2))
            return 0
        if state.live_runs:
            pids = ", ".join(str(p) for p in state.live_runs)
            print(f"running now (not touched by `regions down`): pid {pids}")
        if not state.pending:
            print(f"no resilience leftovers in {state.journals}")
        else:
            print(
                f"{len(state.pending)} journalled item(s) may still exist (stagewise regions down reverts them):"
            )
            for entry in state.pending:
                print(f"  {entry.get('kind')}: {entry.get('what')}")
        return 0
    if args.action == "down":
        count = regions.down(project, _note).reverted
        print(f"reverted {count} journalled item(s)" if count else "nothing to revert")
        return 0

    def show(built: regions.RegionsUp) -> None:
        for note in built.notes:
            print(f"resilience: {note}", file=sys.stderr)
        if args.json:
            print(json.dumps(envelope("regions.up", built.record()), indent=2), flush=True)
            return
        print(f"entry URL (router): {built.entry_url}")
        for region in built.regions:
            print(f"  {region.name:10} {region.role:8} {region.url}  {region.dsn}")
        print(f"writes take: Authorization: Bearer {built.token}")
        print("Ctrl+C tears it all down.", flush=True)

    regions.up(project, _note, show)
    return 0


def _note(line: str) -> None:
    print(line, file=sys.stderr)
