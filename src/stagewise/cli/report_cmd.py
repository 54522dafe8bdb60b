"""``stagewise report``: look at past runs — show one, open its page, list flaky tests.

A run is named by its id, a unique prefix of one, ``latest`` (the default), or
the path of its folder. Everything is read from ``reports/`` (``--reports-dir``
or the project's ``reports_dir``): ``summary.json`` is the record, and a page
missing from an older or interrupted run is rendered from it on ``open``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from stagewise.cli.args import add_project_argument
from stagewise.errors import MissingError, UsageError


def register(commands: Any) -> None:
    """Add ``report`` with ``show``, ``open`` and ``flaky``."""
    parser = commands.add_parser(
        "report",
        help="show a past run, open its report page, or list flaky tests",
        description="Read the run reports under reports/: `show` prints a run's summary, "
        "`open` opens its page in a browser, `flaky` ranks the flakiest tests over history.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print a run's summary (default: the latest run)")
    show.add_argument(
        "run", nargs="?", default="latest", metavar="RUN", help="run id, prefix, path or latest"
    )
    show.add_argument("--json", action="store_true", help="print the run's summary.json")
    show.set_defaults(handler=run_show)
    opener = actions.add_parser("open", help="open a run's index.html in a browser (default: latest)")
    opener.add_argument(
        "run", nargs="?", default="latest", metavar="RUN", help="run id, prefix, path or latest"
    )
    opener.set_defaults(handler=run_open)
    flaky = actions.add_parser("flaky", help="the flakiest tests over the run history")
    flaky.add_argument("--last", type=int, metavar="N", help="only the last N runs (default: all)")
    flaky.add_argument(
        "--limit", type=int, default=20, metavar="N", help="show at most N tests (default: 20)"
    )
    flaky.add_argument(
        "--command",
        choices=("test", "check"),
        default="test",
        help="rank over the runs of `stagewise test` (default) or of `stagewise check`",
    )
    flaky.add_argument("--json", action="store_true", help="print JSON instead of a table")
    flaky.set_defaults(handler=run_flaky)
    merge = actions.add_parser(
        "merge", help="combine shard runs (--shard K/N) into one run: one verdict, summary.json and page"
    )
    merge.add_argument(
        "runs", nargs="+", metavar="DIR", help="the shard runs' folders (or their reports folders)"
    )
    merge.add_argument("--json", action="store_true", help="print the merged summary.json")
    merge.set_defaults(handler=run_merge)
    for sub in (show, opener, flaky, merge):
        sub.add_argument(
            "--reports-dir", metavar="DIR", help="where run reports are (default: <project>/reports)"
        )
        add_project_argument(sub)


def reports_root(args: argparse.Namespace) -> Path:
    """``--reports-dir``, else the project's reports folder."""
    if args.reports_dir:
        return Path(args.reports_dir).resolve()
    from stagewise.project.loader import load_project

    project = load_project(Path(args.project or os.getcwd()))
    return project.root / project.reports_dir


def find_run(root: Path, name: str) -> Path:
    """The folder of the run called ``name`` (id, unique prefix, ``latest`` or a path)."""
    candidate = Path(name)
    if (candidate / "summary.json").is_file() and (os.sep in name or name.startswith(".")):
        return candidate.resolve()
    if not root.is_dir():
        raise MissingError(f"no reports at {root}: run `stagewise test` first")
    if name == "latest":
        latest = root / "latest"
        if latest.is_dir():
            return latest.resolve()
        runs = _runs(root)
        if not runs:
            raise MissingError(f"no runs in {root}: run `stagewise test` first")
        return runs[-1]
    matches = [run for run in _runs(root) if run.name.startswith(name)]
    exact = [run for run in matches if run.name == name]
    if exact:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no run {name!r} in {root} (see `stagewise report show` for the latest)")
    raise UsageError(
        f"{name!r} matches {len(matches)} runs in {root}: {', '.join(r.name for r in matches[:5])}"
    )


def _runs(root: Path) -> list[Path]:
    return sorted(
        p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and (p / "summary.json").is_file()
    )


def _load(run_dir: Path) -> dict[str, Any]:
    try:
        record: dict[str, Any] = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MissingError(f"cannot read {run_dir / 'summary.json'}: {exc}") from exc
    return record


def run_show(args: argparse.Namespace) -> int:
    """Print a run's summary as the run itself printed it."""
    from stagewise.cli.output import render_record

    record = _load(find_run(reports_root(args), args.run))
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        render_record(record, sys.stdout)
    return 0


def run_open(args: argparse.Namespace) -> int:
    """Open the run's page; render it first if the run never wrote one."""
    import webbrowser

    root = reports_root(args)
    run_dir = find_run(root, args.run)
    page = run_dir / "index.html"
    if not page.is_file():
        from stagewise.report.history import read_history
        from stagewise.report.html import write_page

        record = _load(run_dir)
        history = read_history(root)
        ids = [line["run_id"] for line in history]
        upto = ids.index(record.get("run_id")) + 1 if record.get("run_id") in ids else len(history)
        write_page(run_dir, record, history[:upto])
    url = page.resolve().as_uri()
    print(url)
    if not webbrowser.open(url):
        raise MissingError(f"no browser could be started here; open {url} yourself")
    return 0


def run_flaky(args: argparse.Namespace) -> int:
    """Rank the tests that passed only on a rerun, over the run history."""
    from stagewise.report.flaky import flakiest
    from stagewise.report.history import of_command, read_history

    if args.last is not None and args.last < 1:
        raise UsageError("--last must be at least 1")
    history = of_command(read_history(reports_root(args)), args.command)  # --last N: N runs of it
    history = history[-args.last :] if args.last else history
    stats = flakiest(history, limit=max(args.limit, 1), command=args.command)
    if args.json:
        document = {"runs": len(history), "command": args.command, "flaky": [s.as_dict() for s in stats]}
        print(json.dumps(document, indent=2))
        return 0
    what = f"{len(history)} run(s) of stagewise {args.command}"
    if not stats:
        print(f"no flaky tests in the last {what} (run with --reruns N to detect them)")
        return 0
    print(f"flakiest tests over {what}")
    print(f"  {'flaky':>5} {'runs':>5} {'rate':>6} {'failed':>6}  tier         test")
    for s in stats:
        print(
            f"  {s.flaky_runs:>5} {s.runs:>5} {s.flaky_rate:>6.0%} {s.failed_runs:>6}  {s.tier:<12} {s.name}"
        )
    return 0


def run_merge(args: argparse.Namespace) -> int:
    """Merge shard runs into a new run; the exit code is the merged verdict's."""
    from stagewise.report.merge import merge_runs

    run_dir, record = merge_runs([Path(p) for p in args.runs], reports_root(args))
    _fold_durations(args, [Path(p) for p in record["merged_dirs"]])
    if args.json:
        print(json.dumps(record, indent=2))
        return int(record["exit_code"])
    counts = ", ".join(
        f"{t['name']} {t['passed']} passed, {t['failed']} failed, {t['errors']} errors"
        for t in record["tiers"]
    )
    print(f"merged {len(record['merged_from'])} runs: {record['verdict']} ({counts})")
    print(f"report: {run_dir / 'index.html'}")
    return int(record["exit_code"])


def _fold_durations(args: argparse.Namespace, run_dirs: list[Path]) -> None:
    """The shards' test times join the project's .stagewise/durations.json (for the next --shard)."""
    from stagewise.errors import StagewiseError
    from stagewise.pipeline.durations import update_durations
    from stagewise.project.loader import load_project

    try:
        project = load_project(Path(args.project or os.getcwd()))
        update_durations(project.root, *run_dirs)
    except (StagewiseError, OSError) as exc:  # no project here: the merge itself stands
        print(f"durations not kept: {exc}", file=sys.stderr)
