"""``stagewise deploy ENV COMMAND [ARGS]``: the spec's deploy.py grammar.

ENV is a stage (dev, staging, prod and any the project adds); COMMAND is one
of ``COMMANDS``. Each command has its own small parser so that ``-h`` after
it explains just that command and unknown flags name it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from stagewise.cli.args import Parser
from stagewise.errors import ExitCode, UsageError
from stagewise.plugins.backends import BACKENDS

COMMANDS = {
    "up": "start the environment's services and wait until healthy ([-d] [--build] [--keep])",
    "down": "stop and remove them ([--volumes] deletes the data; a protected stage asks first)",
    "build": "build images or run build steps ([SERVICE])",
    "logs": "show logs ([-f] [SERVICE])",
    "status": "state, pid/container, port, health and uptime of each service ([--json])",
    "test": "run the stage's test tiers against the environment ([SERVICE]; prod: smoke only)",
    "migrate": "run Alembic on the env's database ([--to REV|--downgrade REV|--check|--sql|--history])",
    "backup": "back up the env's database with a manifest ([--list] [--verify [FILE]] [--keep N])",
    "restore": "restore the env's database atomically ([--file PATH] [--from-env ENV])",
    "gate": "lint and rehearse the pending migration on a scratch copy; touch nothing live ([--json])",
}
from stagewise.cli.release_cmd import COMMANDS as _RELEASE_COMMANDS  # noqa: E402 (release, rollback, releases)

COMMANDS.update(_RELEASE_COMMANDS)
LOCKED = ("up", "down", "build", "migrate", "backup", "restore", "gate", "release", "rollback")
#: The commands with ``--json``: their result's record in the versioned envelope.
JSON = (
    "up",
    "down",
    "build",
    "status",
    "migrate",
    "backup",
    "restore",
    "gate",
    "release",
    "rollback",
    "releases",
)
USAGE = "stagewise deploy ENV COMMAND [ARGS]"


def _epilog() -> str:
    commands = "\n".join(f"  {name:<8} {text}" for name, text in COMMANDS.items())
    return f"ENV: dev | staging | prod (and any stage the project file adds)\n\nCOMMAND:\n{commands}"


def register(commands: Any) -> None:
    """Add ``deploy``; the command and its flags are parsed in :func:`run`."""
    parser = commands.add_parser(
        "deploy",
        help="bring an environment up and down, see its logs and status, test it",
        description="Manage one environment (stage) on its backend: local processes or Docker Compose.",
        usage=USAGE,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("env", nargs="?", metavar="ENV", help="the environment (a stage)")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="COMMAND [ARGS]", help="what to do")
    parser.set_defaults(handler=run, deploy_parser=parser)


def _command_parser(env: str, command: str) -> Parser:
    parser = Parser(prog=f"stagewise deploy {env} {command}", description=COMMANDS[command])
    parser.add_argument("--backend", choices=BACKENDS.names(), help="override the stage's backend")
    parser.add_argument(
        "--project", metavar="DIR", help="project directory (default: nearest stagewise.toml)"
    )
    if command == "up":
        parser.add_argument("-d", "--detach", action="store_true", help="start in the background and return")
        parser.add_argument("--build", action="store_true", help="build before starting")
        parser.add_argument(
            "--keep", action="store_true", help="swarm: leave a stack that does not converge in place"
        )
        parser.add_argument(
            "--yes", action="store_true", help="confirm the migration steps on a protected stage"
        )
    elif command == "down":
        parser.add_argument("--volumes", "-v", action="store_true", help="also delete the environment's data")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="confirm on a protected stage (down is downtime; --volumes also deletes data)",
        )
    elif command in ("build", "logs", "test"):
        parser.add_argument("service", nargs="?", metavar="SERVICE", help="one service (default: all)")
        if command == "logs":
            parser.add_argument("-f", "--follow", action="store_true", help="stream new lines until Ctrl+C")
        if command == "test":
            parser.add_argument("--verbose", action="store_true", help="show every test's name and status")
            parser.add_argument("--reports-dir", metavar="DIR", help="where run reports go")
    elif command == "migrate":
        what = parser.add_mutually_exclusive_group()
        what.add_argument("--to", metavar="REV", help="upgrade to this revision (default: head)")
        what.add_argument("--downgrade", metavar="REV", help="downgrade to this revision (e.g. -1, base)")
        what.add_argument("--check", action="store_true", help="exit 1 unless the database is at head")
        what.add_argument(
            "--sql", action="store_true", help="print the SQL an upgrade would run; touch nothing"
        )
        what.add_argument("--history", action="store_true", help="list the migration history")
    elif command == "backup":
        what = parser.add_mutually_exclusive_group()
        what.add_argument("--list", action="store_true", help="list this env's backups, newest first")
        what.add_argument(
            "--verify",
            nargs="?",
            const="",
            metavar="FILE",
            help="restore into scratch and compare (default: newest)",
        )
        parser.add_argument("--keep", type=int, metavar="N", help="keep only the N newest backups")
    elif command == "restore":
        parser.add_argument(
            "--file", metavar="PATH", help="the backup to restore (default: newest valid one)"
        )
        parser.add_argument("--from-env", metavar="ENV", help="accept a backup taken in another env")
    if command in _RELEASE_COMMANDS:
        from stagewise.cli import release_cmd

        release_cmd.add_arguments(parser, command)
    if command in ("migrate", "restore"):
        parser.add_argument("--yes", action="store_true", help="confirm on a protected stage")
    if command in JSON:
        parser.add_argument(
            "--json", action="store_true", help="print the result as JSON (progress to stderr)"
        )
    if command in LOCKED:
        parser.add_argument(
            "--wait", type=float, default=0.0, metavar="S", help="wait up to S s for the env lock"
        )
    return parser


def run(args: argparse.Namespace) -> int:
    """Validate ENV and COMMAND, parse the command's flags, call the core, render its result."""
    from stagewise.project.loader import load_project

    rest: list[str] = list(args.args)
    if args.env is None:
        args.deploy_parser.print_help(sys.stderr)
        return int(ExitCode.USAGE)
    project_dir = _project_dir(rest)
    project = load_project(Path(project_dir or os.getcwd()))
    envs = ", ".join(project.stages)
    if args.env not in project.stages:
        if args.env in COMMANDS:
            raise UsageError(
                f"missing environment before {args.env!r}: usage: {USAGE} (environments: {envs})"
            )
        if rest and rest[0] in COMMANDS:
            raise UsageError(f"unknown environment {args.env!r}: environments are {envs}")
        raise UsageError(
            f"unknown command or environment {args.env!r}: usage: {USAGE}; environments are {envs}; "
            f"commands are {', '.join(COMMANDS)}"
        )
    if not rest:
        raise UsageError(f"missing command for {args.env}: commands are {', '.join(COMMANDS)}")
    command = rest[0]
    if command not in COMMANDS:
        raise UsageError(f"unknown command {command!r} for {args.env}: commands are {', '.join(COMMANDS)}")
    parser = _command_parser(args.env, command)
    options = parser.parse_args(rest[1:])
    if command == "backup" and options.keep is not None and options.keep < 1:
        raise UsageError("--keep must be at least 1")
    from stagewise.operations.policy import Target

    if command == "test":
        target = Target(project, args.env, dict(os.environ), options.backend)
        return _test(target, options)
    from stagewise.project.env import resolve_env

    resolved = resolve_env(project, project.stages[args.env], os.environ)
    target = Target(
        project,
        args.env,
        resolved.as_child_env(os.environ),
        options.backend,
        getattr(options, "wait", 0.0),
        f"stagewise deploy {args.env} {' '.join(rest)}",
    )
    sink = _sink(resolved.secret_values(), to_stderr=getattr(options, "json", False))
    if command in ("migrate", "backup", "restore"):
        from stagewise.cli import data_cmd

        confirm = _confirmer(getattr(options, "yes", False))
        return data_cmd.run(target, command, options, sink, confirm, _printed_json)
    if command in _RELEASE_COMMANDS:
        from stagewise.cli import release_cmd

        return release_cmd.run(target, command, options, sink, _confirmer(getattr(options, "yes", False)))
    _HANDLERS[command](target, options, sink)
    return 0


def _up(target: Any, options: argparse.Namespace, sink: Any) -> None:
    from stagewise.operations import deploy

    request = deploy.UpRequest(target, options.detach, options.build, options.keep)
    result = deploy.up(request, sink, _confirmer(options.yes))
    if _printed_json(options, "deploy.up", result.record()):
        return
    _print_status(list(result.services), stream=sys.stdout)
    print(f"{result.env} is up on the {result.backend} backend")


def _down(target: Any, options: argparse.Namespace, sink: Any) -> None:
    from stagewise.operations import deploy

    result = deploy.down(deploy.DownRequest(target, options.volumes), _confirmer(options.yes))
    if _printed_json(options, "deploy.down", result.record()):
        return
    what = f"stopped {', '.join(result.stopped)}" if result.stopped else "nothing was running"
    print(f"{result.env}: {what}" + ("; data deleted" if result.volumes else ""))


def _build(target: Any, options: argparse.Namespace, sink: Any) -> None:
    from stagewise.operations import deploy

    result = deploy.build(deploy.BuildRequest(target, options.service), sink)
    if _printed_json(options, "deploy.build", result.record()):
        return
    print(f"{result.env}: built {result.service or 'all services'}")


def _logs(target: Any, options: argparse.Namespace, sink: Any) -> None:
    from stagewise.operations import deploy

    deploy.logs(deploy.LogsRequest(target, options.follow, options.service), sink)


def _status(target: Any, options: argparse.Namespace, sink: Any) -> None:
    from stagewise.operations import deploy

    result = deploy.status(deploy.StatusRequest(target))
    if not _printed_json(options, "deploy.status", result.record()):
        _print_status(list(result.services), stream=sys.stdout)
        from stagewise.cli.release_cmd import door_line

        if (line := door_line(target)) is not None:
            print(line)


def _printed_json(options: argparse.Namespace, kind: str, record: dict[str, Any]) -> bool:
    """With ``--json``, print ``record`` in the versioned envelope and say so."""
    if not getattr(options, "json", False):
        return False
    from stagewise.operations.records import envelope

    print(json.dumps(envelope(kind, record)), flush=True)
    return True


def _gate(target: Any, options: argparse.Namespace, sink: Any) -> None:
    from stagewise.cli.gate_output import print_gate
    from stagewise.operations.migration_gate import gate_alone

    report = gate_alone(target, sink)
    if not _printed_json(options, "deploy.gate", report.record()):
        print_gate(report)


_HANDLERS = {"up": _up, "down": _down, "build": _build, "logs": _logs, "status": _status, "gate": _gate}


def _project_dir(rest: list[str]) -> str | None:
    """Take ``--project DIR`` out of ``rest`` (it may come anywhere; it is needed before parsing)."""
    for index, arg in enumerate(rest):
        if arg == "--project" and index + 1 < len(rest):
            value = rest[index + 1]
            del rest[index : index + 2]
            return value
        if arg.startswith("--project="):
            del rest[index]
            return arg.split("=", 1)[1]
    return None


def _sink(secrets: list[str], to_stderr: bool = False) -> Any:
    """Progress lines, secrets masked; on stderr when stdout carries JSON."""
    from stagewise.project.env import mask_text

    stream = sys.stderr if to_stderr else sys.stdout

    def sink(line: str) -> None:
        print(mask_text(line, secrets), file=stream, flush=True)

    return sink


def _confirmer(yes: bool) -> Any:
    """The core's confirmation callback: ``--yes``, else the stage name typed at a prompt."""

    def confirm(env: str, what: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(
                f"{env} is protected: refusing to {what} without --yes (no terminal to confirm on)"
            )
        try:
            typed = input(f"{env} is protected. Type '{env}' to {what}: ").strip()
        except EOFError:  # Ctrl+D at the prompt: not confirmed
            typed = ""
        return typed == env

    return confirm


def _print_status(statuses: list[Any], stream: Any) -> None:
    if not statuses:
        print("no services running", file=stream)
        return
    # The detail column (swarm: replicas n/m, a task's node and states) only where a backend gives one.
    details = any(s.detail for s in statuses)
    tail = "  detail" if details else ""
    print(
        f"{'service':<14}{'state':<10}{'health':<11}{'pid':>8}{'port':>7}  {'uptime':<8}{tail}".rstrip(),
        file=stream,
    )
    for s in statuses:
        uptime = "-" if s.uptime_s is None else time.strftime("%H:%M:%S", time.gmtime(s.uptime_s))
        pid = "-" if s.pid is None else str(s.pid)
        port = "-" if s.port is None else str(s.port)
        detail = f"  {s.detail}" if details else ""
        line = f"{s.name:<14}{s.state:<10}{s.health:<11}{pid:>8}{port:>7}  {uptime:<8}{detail}"
        print(line.rstrip(), file=stream)


def _test(target: Any, options: argparse.Namespace) -> int:
    """``deploy ENV test [SERVICE]``: the stage's tiers against the running environment."""
    from stagewise.cli.output import PlainReporter, render_summary
    from stagewise.operations.deploy import StageTestRequest, run_stage_tests

    request = StageTestRequest(
        target,
        service=options.service,
        verbose=options.verbose,
        reports_dir=Path(options.reports_dir).resolve() if options.reports_dir else None,
    )
    result = run_stage_tests(request, PlainReporter(sys.stdout))
    render_summary(result, sys.stdout)
    return int(result.exit_code)
