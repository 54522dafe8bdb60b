"""``deploy ENV release | rollback | releases``: render the release core's results."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stagewise.release.history import ReleaseRecord

COMMANDS = {
    "release": "release the code as it is beside the old version, switch the front door ([--version V])",
    "rollback": "go back to the previous (or named) release through the same switch ([RELEASE] [--yes])",
    "releases": "the stage's release history ([--json])",
}


def add_arguments(parser: Any, command: str) -> None:
    """The flags of one release command (``--project``/``--backend`` come from deploy)."""
    if command == "release":
        parser.add_argument("--version", metavar="V", help="the version to record (default: the git commit)")
        parser.add_argument("--yes", action="store_true", help="confirm on a protected stage")
    elif command == "rollback":
        parser.add_argument("release", nargs="?", metavar="RELEASE", help="release id or version")
        parser.add_argument("--yes", action="store_true", help="confirm on a protected stage")


def run(target: Any, command: str, options: argparse.Namespace, sink: Any, confirm: Any) -> int:
    """Call the core; print the record (or the history)."""
    from stagewise.operations.records import envelope
    from stagewise.release import orchestrate
    from stagewise.release.history import History

    if command == "releases":
        history = History(target.project.root / ".stagewise" / target.stage).load()
        if options.json:
            print(
                json.dumps(
                    envelope(
                        "deploy.releases", {"env": target.stage, "releases": [r.record() for r in history]}
                    )
                )
            )
            return 0
        _print_history(history)
        return 0
    if command == "release":
        record = orchestrate.release(orchestrate.ReleaseRequest(target, options.version), sink, confirm)
    else:
        record = orchestrate.rollback(orchestrate.RollbackRequest(target, options.release), sink, confirm)
    if getattr(options, "json", False):
        print(json.dumps(envelope(f"deploy.{command}", record.record())))
        return 0
    steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in record.steps)
    print(f"{target.stage}: {record.kind} {record.id} {record.outcome} ({record.detail}); {steps}")
    return 0


def _print_history(history: list[ReleaseRecord]) -> None:
    if not history:
        print("no releases yet")
        return
    print(f"{'release':<36}{'kind':<10}{'outcome':<13}{'schema':<26}{'slot':<6}when")
    for r in history:
        schema = f"{r.revision_before or '-'}->{r.revision_after or '-'}"
        print(f"{r.id:<36}{r.kind:<10}{r.outcome:<13}{schema:<26}{r.slot or '-':<6}{r.started_at}")


def door_line(target: Any) -> str | None:
    """``status``'s line about the front door: which slot and release serve (None: no front door)."""
    if target.stage not in target.project.releases:
        return None
    from stagewise.release.frontdoor import FrontDoor
    from stagewise.release.history import History

    state_dir = target.project.root / ".stagewise" / target.stage
    config = target.project.releases[target.stage]
    if (target.backend or target.config.backend) == "swarm":  # the engine rolls the stack: no door
        serving = History(state_dir).serving()
        release = (
            f"release {serving.id} ({serving.version}, {serving.image})" if serving else "no release yet"
        )
        return f"stack port 127.0.0.1:{config.port}: {release}"
    state = FrontDoor(state_dir, config.port, {}).state()
    if state is None:
        return f"front door 127.0.0.1:{config.port}: not running"
    serving = History(state_dir).serving()
    release = f"release {serving.id} ({serving.version})" if serving else "no release yet"
    return f"front door 127.0.0.1:{config.port} -> slot {state.serving} on port {state.ports[state.serving]}: {release}"
