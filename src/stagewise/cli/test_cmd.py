"""``stagewise test``: the spec's test_stages.py grammar."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stagewise.cli.args import add_project_argument
from stagewise.plugins.tiers import TIERS

if TYPE_CHECKING:
    from stagewise.pipeline.results import RunResult
    from stagewise.tiers.performance.scenarios import LoadRequest


#: ``--changed`` given without REF (argparse's ``const``): the merge base with the main branch.
_DEFAULT_REF = "\0merge-base"


def register(commands: Any) -> None:
    """Add ``test`` and its flags, one help line each."""
    parser = commands.add_parser(
        "test",
        help="run test tiers (unit, integration, api, e2e) for a stage",
        description="Run the test pyramid tier by tier and print one verdict: "
        "stagewise test [TIER FLAGS] [PATH|NODEID ...] [-- PYTEST ARGS]. "
        "A path or node id runs in the tier whose paths hold it (with no tier flag it decides the tiers); "
        "arguments after -- reach each pytest tier after stagewise's own. "
        "Exit codes: 0 passed, 1 failed, 2 usage, 3 bad project file, "
        "4 something missing/unreachable, 5 no tests collected, 130 interrupted.",
    )
    parser.add_argument(
        "selection",
        nargs="*",
        metavar="PATH|NODEID",
        help="test files, folders or node ids (tests/x.py::test_y); each runs in the tier holding it",
    )
    parser.add_argument(
        "-k", metavar="EXPR", dest="keyword", help="only tests whose names match EXPR (pytest -k)"
    )
    for tier in TIERS:
        parser.add_argument(
            f"--{tier.name}", action="store_true", help=tier.help or f"run the {tier.name} tier"
        )
    parser.add_argument(
        "--all", action="store_true", help="run every tier the stage allows, in pyramid order"
    )
    parser.add_argument(
        "--stage", metavar="STAGE", help="dev, test, staging, prod or a project stage (default: test)"
    )
    parser.add_argument(
        "--coverage", action="store_true", help="measure coverage (unit and integration tiers)"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show every test's name and status")
    parser.add_argument(
        "--host", metavar="URL", help="target URL for api/e2e/performance (default: the stage's base_url)"
    )
    parser.add_argument(
        "--target", metavar="URL", help="security: the URL to scan (the same as --host; default: the stage's)"
    )
    parser.add_argument(
        "--active", action="store_true", help="security: also run ZAP's active scan (sends attack payloads)"
    )
    parser.add_argument(
        "--yes", action="store_true", help="confirm a security scan of a protected stage (e.g. prod)"
    )
    parser.add_argument(
        "--no-headless", action="store_true", help="show the browser window (needs a display)"
    )
    parser.add_argument(
        "--install-missing", action="store_true", help="pip-install missing test tools instead of failing"
    )
    parser.add_argument(
        "--reports-dir", metavar="DIR", help="where run reports go (default: <project>/reports)"
    )
    parser.add_argument("--json", action="store_true", help="print the run record as JSON on stdout")
    parser.add_argument(
        "--reruns",
        metavar="N",
        type=_reruns,
        default=0,
        help="rerun failing tests up to N times; one that then passes is reported as flaky",
    )
    parser.add_argument(
        "--users", metavar="N", type=_positive_int, help="performance: concurrent users (default 10)"
    )
    parser.add_argument(
        "--duration", metavar="S", type=_seconds, help="performance: run time, e.g. 60, 90s, 5m (default 60s)"
    )
    parser.add_argument(
        "--scenario",
        metavar="NAME",
        help="performance: normal-load, peak-load, stress, endurance, spike, ...; "
        "with --resilience alone: default, primary-down, region-down, replication-latency, blackhole, ...",
    )
    parser.add_argument(
        "--save-baseline", action="store_true", help="performance: record this run as the scenario's baseline"
    )
    parser.add_argument(
        "--baseline", action="store_true", help="performance: fail on a regression against the saved baseline"
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        type=_workers,
        help="performance: run Locust distributed over N worker processes",
    )
    parser.add_argument(
        "--no-start",
        action="store_true",
        help="never start the stage's environment when nothing answers at the target",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="stagewise's own lines only: no live display, pytest's output stays in the tier log (-v shows it)",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="run a profile's tiers and stage within its budget (pr, main, nightly, or [profiles.NAME])",
    )
    parser.add_argument(
        "--shard",
        metavar="K/N",
        type=_shard,
        help="run shard K of N: the tests split across N runners by recorded durations",
    )
    parser.add_argument(
        "--changed",
        metavar="REF",
        nargs="?",
        const=_DEFAULT_REF,
        default=None,
        help="run only the tests the change against REF affects (default REF: the merge base with main); "
        "judged from the impact data a whole --coverage run records",
    )
    add_project_argument(parser)
    parser.set_defaults(handler=run, pytest_args=[])


def run(args: argparse.Namespace) -> int:
    """Load the project, run the tiers, render the verdict; returns the exit code."""
    from stagewise.cli.output import PlainReporter, render_summary, wants_live_progress
    from stagewise.pipeline.test_run import TestRequest, run_tests
    from stagewise.project.loader import load_project

    project = load_project(Path(args.project or os.getcwd()))
    profile = _profile(project, args)
    request = TestRequest(
        profile=profile,
        tiers=profile.tiers if profile else tuple(t for t in TIERS.names() if getattr(args, t, False)),
        run_all=args.all,
        stage=args.stage,
        coverage=args.coverage,
        verbose=args.verbose,
        host=_target(args),
        headless=not args.no_headless,
        install_missing=args.install_missing,
        reruns=args.reruns,
        auto_start=not args.no_start,
        load=_load_request(args),
        resilience_scenario=_resilience_scenario(args),
        active=args.active,
        yes=args.yes or _confirmed_at_prompt(project, args),
        reports_dir=Path(args.reports_dir).resolve() if args.reports_dir else None,
        color=sys.stdout.isatty() and "NO_COLOR" not in os.environ and not args.json,
        selection=tuple(args.selection),
        selection_base=Path.cwd(),
        pytest_args=tuple(args.pytest_args),
        keyword=args.keyword,
        relay_output=args.verbose or not args.no_progress,
        shard=args.shard,
        changed=args.changed is not None,
        changed_ref=None if args.changed in (None, _DEFAULT_REF) else args.changed,
    )
    stream = sys.stderr if args.json else sys.stdout
    if wants_live_progress(stream, args.no_progress, os.environ):
        from stagewise.cli.progress import RichReporter

        live = RichReporter(stream, verbose=args.verbose)
        try:
            result = run_tests(project, request, live)
        finally:
            live.close()
        live.render_summary(_written_record(result))
    else:
        result = run_tests(project, request, PlainReporter(stream))
        render_summary(result, stream)
    if args.json:
        print(json.dumps(_written_record(result), indent=2))
    for gate in result.gates:
        if gate.name == "budget" and gate.measured > gate.limit:
            print(f"stagewise: {gate.message}", file=sys.stderr)
    return int(result.exit_code)


def _profile(project: Any, args: argparse.Namespace) -> Any:
    """``--profile NAME``: the project's profile (its stage becomes the default), else ``None``."""
    from stagewise.errors import UsageError

    if args.profile is None:
        return None
    profile = project.profiles.get(args.profile)
    if profile is None:
        raise UsageError(
            f"unknown profile {args.profile!r} (profiles: {', '.join(sorted(project.profiles))})"
        )
    named = [f"--{t}" for t in TIERS.names() if getattr(args, t, False)] + (["--all"] if args.all else [])
    if named:
        raise UsageError(f"--profile {profile.name} picks the tiers itself: drop {named[0]}")
    if args.stage is None:
        args.stage = profile.stage
    return profile


def _written_record(result: RunResult) -> dict[str, Any]:
    """The run's summary.json as written (with git and tool versions), else rebuilt from the result."""
    from stagewise.report.summary import run_record

    try:
        record: dict[str, Any] = json.loads(
            (Path(result.run_dir) / "summary.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return run_record(result)
    return record


def _target(args: argparse.Namespace) -> str | None:
    """``--target`` is ``--host`` under the spec's name for the security tier; both must agree."""
    from stagewise.errors import UsageError

    if args.host and args.target and args.host.rstrip("/") != args.target.rstrip("/"):
        raise UsageError(f"--host {args.host} and --target {args.target} disagree: give one of them")
    host: str | None = args.host or args.target
    return host


def _confirmed_at_prompt(project: Any, args: argparse.Namespace) -> bool:
    """A security scan of a protected stage: the stage name typed at a terminal confirms it.

    With no terminal (CI) nothing is asked and the pipeline refuses without --yes.
    """
    if args.yes or not args.security or not sys.stdin.isatty():
        return False
    from stagewise.project.policy import stage_named

    stage = stage_named(project, args.stage)
    if not stage.protected:
        return False
    what = "an active security scan" if args.active else "a security scan"
    try:
        typed = input(f"{stage.name} is protected. Type '{stage.name}' to run {what} against it: ").strip()
    except EOFError:  # Ctrl+D at the prompt: not confirmed
        return False
    return typed == stage.name


def _load_request(args: argparse.Namespace) -> LoadRequest | None:
    """The performance flags, or a usage error when they come without --performance."""
    from stagewise.errors import UsageError

    given = [
        flag
        for flag, value in (
            ("--users", args.users),
            ("--duration", args.duration),
            ("--scenario", _performance_scenario(args)),
            ("--save-baseline", args.save_baseline or None),
            ("--baseline", args.baseline or None),
            ("--workers", args.workers),
        )
        if value is not None
    ]
    if given and not (args.performance or args.all or args.stage):
        raise UsageError(f"{given[0]} applies to the performance tier: add --performance")
    if not given:
        return None  # the tier's defaults; and no Locust-side import for runs without it
    from stagewise.tiers.performance.scenarios import LoadRequest

    return LoadRequest(
        scenario=_performance_scenario(args),
        users=args.users,
        duration=args.duration,
        workers=args.workers,
        save_baseline=args.save_baseline,
        baseline=args.baseline,
    )


def _performance_scenario(args: argparse.Namespace) -> str | None:
    """``--scenario`` belongs to --resilience when that is asked for without --performance."""
    return None if _resilience_scenario(args) is not None else args.scenario


def _resilience_scenario(args: argparse.Namespace) -> str | None:
    """The resilience scenario: ``--scenario`` given with --resilience and without --performance."""
    from stagewise.errors import UsageError

    if not getattr(args, "resilience", False) or args.scenario is None:
        return None
    if args.performance:
        raise UsageError(
            "--scenario with both --performance and --resilience is ambiguous: run them one at a time"
        )
    return str(args.scenario)


def _positive_int(value: str) -> int:
    """A whole number of at least 1 (``--users``)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return number


def _workers(value: str) -> int:
    """``--workers N``: 0 (no distribution) to 256 worker processes."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 256:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 256, not {value!r}")
    return number


def _seconds(value: str) -> float:
    """``--duration``: seconds, or a number with s, m or h."""
    from stagewise.project.performance import parse_seconds

    seconds = parse_seconds(value)
    if seconds is None or seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be seconds, e.g. 60, 90s or 5m, not {value!r}")
    return seconds


def _reruns(value: str) -> int:
    """``--reruns N``: a whole number from 0 to 10 (more hides real failures behind retries)."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 10:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 10, not {value!r}")
    return number


def _shard(value: str) -> tuple[int, int]:
    """``--shard K/N``: shard K (1-based) of N."""
    from stagewise.errors import UsageError
    from stagewise.pipeline.shards import parse_shard

    try:
        return parse_shard(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message.removeprefix(f"--shard {value}: ")) from None
