"""``index.html``: one self-contained page per run, rendered from ``summary.json``.

The page must open from a CI artifact, a mail attachment or a laptop with no
network, so everything is inline: CSS in a ``<style>``, charts as ``<svg>``,
no scripts, no fonts, no images. It is built with string templates and
:func:`html.escape` (every value that came from a test run is escaped), and it
reads only files in the run folder: ``summary.json``'s record, the JUnit files
(for tracebacks and the slowest tests), ``coverage.json``, and the
performance/findings evidence described in :mod:`stagewise.report.artifacts`.
Trends come from the ``history.jsonl`` lines passed in, only those of the same
kind as this run (command, profile, tiers: :func:`~stagewise.report.history.comparable`).

Order on the page: the verdict, the tiers (counts, duration, failures with
tracebacks), flaky tests, slowest tests, coverage per module, load test
(latency percentiles and throughput over time), security findings, trends over
earlier runs, and where the run came from (stage, git commit, tool versions).
Stable ``id`` attributes (``verdict``, ``tiers``, ``tier-<name>``, ``flaky``,
``latency-chart``, ``throughput-chart``, ``findings``, ``trends``) are part of
the contract the browser tests check.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from stagewise.plugins.tiers import TIERS
from stagewise.registry import load_object
from stagewise.report.artifacts import load_findings, load_performance, load_security_checks
from stagewise.report.history import comparable, run_kind
from stagewise.report.page_evidence import findings_section, performance_section, resilience_section
from stagewise.report.page_parts import Series, badge, esc, line_chart, num
from stagewise.tiers.junit import CaseResult, read_cases

PAGE_FILE = "index.html"
#: The tiers table's count columns; xfailed, xpassed and deselected are never folded into skipped.
_COUNT_COLUMNS = ("passed", "failed", "errors", "skipped", "flaky", "xfailed", "xpassed", "deselected")
TREND_RUNS = 20
SLOWEST = 10

_VERDICT_COLOR = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "incomplete": "#9a6700",
    "no tests": "#57606a",
    "interrupted": "#8250df",
    "nothing affected": "#0969da",
}
_STATUS_COLOR = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#cf222e",
    "no-tests": "#57606a",
    "missing": "#9a6700",
    "skipped-by-change": "#0969da",
}
_CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:#1f2328;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.6em;margin:0}
h2{font-size:1.15em;margin:0 0 10px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:14px 16px;margin:14px 0}
.verdict{color:#fff;border:0;display:flex;flex-wrap:wrap;gap:6px 24px;align-items:baseline}
.verdict .meta{opacity:.92}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 10px}
.card b{display:block;font-size:1.4em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:14px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-weight:600;color:#57606a;font-size:.9em}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:.85em;font-weight:600}
.bar{background:#eaeef2;border-radius:3px;height:10px;min-width:60px}
.bar i{display:block;height:10px;border-radius:3px}
details{margin:6px 0}
summary{cursor:pointer}
pre{background:#f6f8fa;border:1px solid #eaeef2;border-radius:6px;padding:8px;overflow-x:auto;
 font-size:12px;white-space:pre;max-height:420px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.muted{color:#57606a}
svg{width:100%;height:auto;display:block}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
.legend span{margin-right:12px;font-size:.85em}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
@media (max-width:600px){body{font-size:14px}main{padding:8px}section{padding:10px}
 .hide-sm{display:none}h1{font-size:1.3em}th,td{padding:4px 5px}svg.wide text{font-size:15px}}
"""


def write_page(run_dir: Path, record: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> Path:
    """Render the page into ``run_dir/index.html`` atomically and return its path."""
    page = run_dir / PAGE_FILE
    temporary = run_dir / f".{PAGE_FILE}.tmp"
    temporary.write_text(render_page(record, run_dir, history), encoding="utf-8")
    os.replace(temporary, page)
    return page


def render_page(record: Mapping[str, Any], run_dir: Path, history: Sequence[Mapping[str, Any]]) -> str:
    """The whole page as one string."""
    tiers = [t for t in record.get("tiers") or () if isinstance(t, Mapping)]
    cases = {str(t.get("name")): _cases(t, run_dir) for t in tiers}
    body = [
        _verdict(record, tiers),
        _tiers(tiers, cases),
        _flaky(tiers),
        _slowest(cases),
        _coverage(record, run_dir),
        performance_section(load_performance(record, run_dir), run_dir),
        findings_section(load_findings(record, run_dir), load_security_checks(record)),
        resilience_section(tiers),
        *(_tier_page(t) for t in tiers),
        _trends(record, history),
        _provenance(record),
    ]
    title = f"stagewise {record.get('verdict', '')} · {record.get('stage', '')} · {record.get('run_id', '')}"
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body><main>\n"
        + "\n".join(part for part in body if part)
        + "\n</main></body></html>\n"
    )


def _tier_page(tier: Mapping[str, Any]) -> str:
    """A registered tier's own section, rendered by its ``page`` renderer from its record."""
    spec = TIERS.get(str(tier.get("name")))
    if spec is None or not spec.page:
        return ""
    render = cast("Callable[[Mapping[str, Any]], str | None]", load_object(spec.page))
    return render(tier) or ""


def _seconds(value: object) -> str:
    seconds = num(value)
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.2f} s"


def _cases(tier: Mapping[str, Any], run_dir: Path) -> tuple[CaseResult, ...]:
    """The tier's JUnit cases; the file is looked up in the run dir too, in case the folder moved."""
    junit = tier.get("junit")
    if not isinstance(junit, str):
        return ()
    for path in (run_dir / Path(junit).name, Path(junit)):
        if path.is_file():
            return read_cases(path)
    return ()


def _verdict(record: Mapping[str, Any], tiers: Sequence[Mapping[str, Any]]) -> str:
    verdict = str(record.get("verdict", "unknown"))
    color = _VERDICT_COLOR.get(verdict, "#57606a")
    totals = {k: sum(int(num(t.get(k))) for t in tiers) for k in ("passed", "failed", "errors", "skipped")}
    extra = {k: sum(int(num(t.get(k))) for t in tiers) for k in ("flaky", "xfailed", "xpassed", "deselected")}
    counts = " · ".join(f"{v} {k}" for k, v in (*totals.items(), *extra.items()) if v or k in totals)
    return (
        f"<section id='verdict' class='verdict' style='background:{color}' data-verdict='{esc(verdict)}'>"
        f"<h1>{esc(verdict.upper())} <span class='meta'>(exit {esc(record.get('exit_code'))})</span></h1>"
        f"<div class='meta'>stage <b>{esc(record.get('stage'))}</b> · target {esc(record.get('target'))}</div>"
        f"<div class='meta'>{esc(counts)} · {esc(_seconds(record.get('duration_s')))}</div>"
        f"<div class='meta mono'>run {esc(record.get('run_id'))} · {esc(record.get('started_at'))}</div>"
        "</section>"
    )


def _tiers(tiers: Sequence[Mapping[str, Any]], cases: Mapping[str, Sequence[CaseResult]]) -> str:
    if not tiers:
        return "<section id='tiers'><h2>Tiers</h2><p class='muted'>No tier ran.</p></section>"
    longest = max(num(t.get("duration_s")) for t in tiers) or 1.0
    rows = []
    for tier in tiers:
        name = str(tier.get("name"))
        width = 100 * num(tier.get("duration_s")) / longest
        status = str(tier.get("status"))
        rows.append(
            f"<tr id='tier-{esc(name)}' data-tier='{esc(name)}'><th>{esc(name)}</th>"
            f"<td>{badge(status, _STATUS_COLOR)}</td>"
            + "".join(f"<td class='n'>{int(num(tier.get(k)))}</td>" for k in _COUNT_COLUMNS)
            + f"<td class='n'>{esc(_seconds(tier.get('duration_s')))}</td>"
            f"<td class='hide-sm' style='width:25%'><div class='bar'><i style='width:{width:.1f}%;"
            f"background:{_STATUS_COLOR.get(status, '#57606a')}'></i></div></td></tr>"
        )
    failures = "".join(_tier_failures(t, cases.get(str(t.get("name")), ())) for t in tiers)
    return (
        "<section id='tiers'><h2>Tiers</h2><div class='scroll'><table><thead><tr><th>tier</th><th>status</th>"
        + "".join(f"<th class='n'>{k}</th>" for k in (*_COUNT_COLUMNS, "time"))
        + "<th class='hide-sm'></th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        + failures
        + "</section>"
    )


def _tier_failures(tier: Mapping[str, Any], cases: Sequence[CaseResult]) -> str:
    name = str(tier.get("name"))
    parts = []
    if tier.get("message") and tier.get("status") != "passed":
        parts.append(f"<p><b>{esc(name)}</b>: {esc(tier.get('message'))}</p>")
    failing = [c for c in cases if c.outcome in ("failed", "error")]
    if failing:
        for case in failing[:50]:
            parts.append(
                f"<details class='failure' data-tier='{esc(name)}'><summary><b>{esc(case.outcome)}</b> "
                f"<code>{esc(case.name)}</code> <span class='muted'>{esc(_first_line(case.message))}</span>"
                f"</summary><pre>{esc(case.details or case.message)}</pre></details>"
            )
    else:
        for failed in tier.get("failed_tests") or ():
            if isinstance(failed, Mapping):
                parts.append(
                    f"<details class='failure' data-tier='{esc(name)}'><summary>"
                    f"<b>{esc(failed.get('kind'))}</b> <code>{esc(failed.get('name'))}</code></summary>"
                    f"<pre>{esc(failed.get('message'))}</pre></details>"
                )
    return "".join(parts)


def _bar(percent: float, color: str) -> str:
    width = max(0.0, min(percent, 100.0))
    return f"<div class='bar'><i style='width:{width:.1f}%;background:{color}'></i></div>"


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else ""


def _flaky(tiers: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        f"<tr><td>{esc(t.get('name'))}</td><td><code>{esc(f.get('name'))}</code></td>"
        f"<td class='n'>{int(num(f.get('reruns'), 1))}</td></tr>"
        for t in tiers
        for f in t.get("flaky_tests") or ()
        if isinstance(f, Mapping)
    ]
    if not rows:
        return ""
    return (
        "<section id='flaky'><h2>Flaky tests</h2><p class='muted'>Failed, then passed on a rerun: "
        "not counted as passed.</p><div class='scroll'><table><thead><tr><th>tier</th><th>test</th>"
        "<th class='n'>reruns</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div></section>"
    )


def _slowest(cases: Mapping[str, Sequence[CaseResult]]) -> str:
    ranked = sorted(
        ((tier, case) for tier, found in cases.items() for case in found if case.outcome != "skipped"),
        key=lambda pair: -pair[1].duration,
    )[:SLOWEST]
    if not ranked:
        return ""
    longest = ranked[0][1].duration or 1.0
    rows = [
        f"<tr><td class='n'>{case.duration:.3f} s</td><td>{esc(tier)}</td>"
        f"<td><code>{esc(case.name)}</code></td><td class='hide-sm' style='width:25%'>"
        f"{_bar(100 * case.duration / longest, '#0969da')}</td></tr>"
        for tier, case in ranked
    ]
    return (
        "<section id='slowest'><h2>Slowest tests</h2><div class='scroll'><table><thead><tr>"
        "<th class='n'>time</th><th>tier</th><th>test</th><th class='hide-sm'></th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div></section>"
    )


def _coverage(record: Mapping[str, Any], run_dir: Path) -> str:
    try:
        data = json.loads((run_dir / "coverage.json").read_text(encoding="utf-8"))
        files = data["files"]
        total = float(data["totals"]["percent_covered"])
    except (OSError, ValueError, KeyError, TypeError):
        percent = record.get("coverage_percent")
        if percent is None:
            return ""
        return f"<section id='coverage'><h2>Coverage</h2><p><b>{num(percent):.1f}%</b></p></section>"
    rows = []
    for path, info in sorted(files.items()):
        summary = info.get("summary", {}) if isinstance(info, Mapping) else {}
        percent = num(summary.get("percent_covered"))
        color = "#1a7f37" if percent >= 80 else "#9a6700" if percent >= 50 else "#cf222e"
        rows.append(
            f"<tr><td><code>{esc(path)}</code></td>"
            f"<td class='n'>{int(num(summary.get('num_statements')))}</td>"
            f"<td class='n'>{int(num(summary.get('missing_lines')))}</td><td class='n'>{percent:.1f}%</td>"
            f"<td style='width:25%'>{_bar(percent, color)}</td></tr>"
        )
    link = (
        " · <a href='coverage-html/index.html'>line-by-line report</a>"
        if (run_dir / "coverage-html" / "index.html").is_file()
        else ""
    )
    return (
        f"<section id='coverage'><h2>Coverage <b>{total:.1f}%</b></h2><p class='muted'>per module{link}</p>"
        "<div class='scroll'><table><thead><tr><th>module</th><th class='n'>statements</th>"
        "<th class='n'>missed</th><th class='n'>covered</th><th></th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div></section>"
    )


def _trends(record: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> str:
    """The last runs of the same kind as this one (command, profile, tiers): others measure something else."""
    runs = comparable(history, record)[-TREND_RUNS:]
    kind = _kind_label(record)
    if len(runs) < 2:
        return (
            "<section id='trends'><h2>Trends</h2><p class='muted'>Trends appear from the second run on "
            f"of the same kind ({esc(kind)}; history: reports/history.jsonl).</p></section>"
        )
    labels = [_run_label(str(r.get("run_id", ""))) for r in runs]

    def series(key: str, label: str, color: str, scale: float = 1.0) -> Series:
        points = tuple(
            (float(i), num(r.get(key)) * scale)
            for i, r in enumerate(runs)
            if isinstance(r.get(key), int | float)
        )
        return Series(label, color, points if len(points) >= 2 else ())

    small = (360, 170)
    charts = [
        line_chart(chart_id, title, [series(key, label, color, scale)], unit, x_labels=labels, size=small)
        for chart_id, title, key, label, color, scale, unit in (
            ("trend-pass-rate", "Pass rate", "pass_rate", "pass rate", "#1a7f37", 100.0, "%"),
            ("trend-duration", "Duration", "duration_s", "duration", "#0969da", 1.0, " s"),
            ("trend-coverage", "Coverage", "coverage_percent", "coverage", "#8250df", 1.0, "%"),
            ("trend-p95", "p95 latency", "p95_ms", "p95", "#bc4c00", 1.0, " ms"),
        )
    ]
    drawn = [c for c in charts if c]
    return (
        f"<section id='trends'><h2>Trends <span class='muted'>over the last {len(runs)} runs of "
        f"{esc(kind)}</span></h2>"
        f"<div class='charts'>{''.join(drawn)}</div></section>"
    )


def _kind_label(record: Mapping[str, Any]) -> str:
    """``stagewise test --profile pr: unit, integration, api``: the runs a trend compares."""
    command, profile, _ = run_kind(record)
    tiers = [str(t.get("name")) for t in record.get("tiers") or () if isinstance(t, Mapping)]
    return f"stagewise {command}" + (f" --profile {profile}" if profile else "") + f": {', '.join(tiers)}"


def _run_label(run_id: str) -> str:
    """``20261125T084052Z-bbd275`` -> ``11-25 08:40`` (run ids start with their UTC time)."""
    stamp = run_id.split("-", 1)[0]
    if len(stamp) >= 13 and stamp[8] == "T":
        return f"{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}"
    return run_id[:16]


def _provenance(record: Mapping[str, Any]) -> str:
    git = record.get("git")
    if isinstance(git, Mapping) and git.get("commit"):
        dirty = " (uncommitted changes)" if git.get("dirty") else ""
        commit = (
            f"<code title='{esc(git['commit'])}'>{esc(str(git['commit'])[:12])}</code>"
            f" on {esc(git.get('branch'))}{dirty}"
        )
    else:
        commit = "<span class='muted'>not a git checkout</span>"
    rows = [
        ("stage", esc(record.get("stage"))),
        ("target", esc(record.get("target"))),
        ("git commit", commit),
        ("run", f"<code>{esc(record.get('run_id'))}</code>"),
        ("started", esc(record.get("started_at"))),
    ]
    versions = record.get("tool_versions")
    if isinstance(versions, Mapping):
        rows += [(str(name), f"<code>{esc(version)}</code>") for name, version in versions.items()]
    gates = "".join(
        f"<li>{'–' if g.get('applicable') is False else '✔' if g.get('passed') else '✘'} {esc(g.get('message'))}</li>"
        for g in record.get("gates") or ()
        if isinstance(g, Mapping)
    )
    files = "".join(
        f"<a href='{esc(Path(str(t[key])).name)}'>{esc(Path(str(t[key])).name)}</a> "
        for t in record.get("tiers") or ()
        if isinstance(t, Mapping)
        for key in ("junit", "log")
        if t.get(key)
    )
    return (
        "<section id='provenance'><h2>Run</h2><div class='scroll'><table><tbody>"
        + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
        + "</tbody></table></div>"
        + (f"<h2 style='margin-top:12px'>Gates</h2><ul>{gates}</ul>" if gates else "")
        + (f"<p class='muted'>evidence: {files}</p>" if files else "")
        + "</section>"
    )
