"""``index.html``: one self-contained page per run, rendered from ``summary.json``.

The page must open from a CI artifact, a mail attachment or a laptop with no
network, so everything is inline: CSS in a ``<style>``, charts as ``<svg>``,
no scripts, no fonts, no images. It is built with string templates and
:func:`html.escape` (every value that came from a test run is escaped), and it
reads only files in the run folder: ``summary.json``'s record, the JUnit files
(for tracebacks and the slowest tests), ``coverage.json``, and the
performance/findings evidence described in :mod:`stagewise.report.artifacts`.
Trends come from the ``history.jsonl`` lines passed in.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from stagewise.report.artifacts import SEVERITIES, load_findings, load_performance, load_security_checks
from stagewise.tiers.junit import CaseResult, read_cases

PAGE_FILE = "index.html"
TREND_RUNS = 20
SLOWEST = 10

_VERDICT_COLOR = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "incomplete": "#9a6700",
    "no tests": "#57606a",
    "interrupted": "#8250df",
}
_STATUS_COLOR = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#cf222e",
    "no-tests": "#57606a",
    "missing": "#9a6700",
}
_SEVERITY_COLOR = {
    "critical": "#82071e",
    "high": "#cf222e",
    "medium": "#bc4c00",
    "low": "#9a6700",
    "info": "#57606a",
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


@dataclass(frozen=True)
class _Series:
    label: str
    color: str
    points: tuple[tuple[float, float], ...]


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
        _performance(load_performance(record, run_dir), run_dir),
        _findings(load_findings(record, run_dir), load_security_checks(record)),
        _resilience(tiers),
        _trends(history),
        _provenance(record),
    ]
    title = f"stagewise {record.get('verdict', '')} · {record.get('stage', '')} · {record.get('run_id', '')}"
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body><main>\n"
        + "\n".join(part for part in body if part)
        + "\n</main></body></html>\n"
    )


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: object, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _seconds(value: object) -> str:
    seconds = _num(value)
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
    totals = {k: sum(int(_num(t.get(k))) for t in tiers) for k in ("passed", "failed", "errors", "skipped")}
    flaky = sum(int(_num(t.get("flaky"))) for t in tiers)
    counts = " · ".join(f"{v} {k}" for k, v in totals.items()) + (f" · {flaky} flaky" if flaky else "")
    return (
        f"<section id='verdict' class='verdict' style='background:{color}' data-verdict='{_e(verdict)}'>"
        f"<h1>{_e(verdict.upper())} <span class='meta'>(exit {_e(record.get('exit_code'))})</span></h1>"
        f"<div class='meta'>stage <b>{_e(record.get('stage'))}</b> · target {_e(record.get('target'))}</div>"
        f"<div class='meta'>{_e(counts)} · {_e(_seconds(record.get('duration_s')))}</div>"
        f"<div class='meta mono'>run {_e(record.get('run_id'))} · {_e(record.get('started_at'))}</div>"
        "</section>"
    )


def _badge(status: str, colors: Mapping[str, str]) -> str:
    return f"<span class='badge' style='background:{colors.get(status, '#57606a')}'>{_e(status)}</span>"


def _tiers(tiers: Sequence[Mapping[str, Any]], cases: Mapping[str, Sequence[CaseResult]]) -> str:
    if not tiers:
        return "<section id='tiers'><h2>Tiers</h2><p class='muted'>No tier ran.</p></section>"
    longest = max(_num(t.get("duration_s")) for t in tiers) or 1.0
    rows = []
    for tier in tiers:
        name = str(tier.get("name"))
        width = 100 * _num(tier.get("duration_s")) / longest
        status = str(tier.get("status"))
        rows.append(
            f"<tr id='tier-{_e(name)}' data-tier='{_e(name)}'><th>{_e(name)}</th>"
            f"<td>{_badge(status, _STATUS_COLOR)}</td>"
            + "".join(
                f"<td class='n'>{int(_num(tier.get(k)))}</td>"
                for k in ("passed", "failed", "errors", "skipped", "flaky")
            )
            + f"<td class='n'>{_e(_seconds(tier.get('duration_s')))}</td>"
            f"<td class='hide-sm' style='width:25%'><div class='bar'><i style='width:{width:.1f}%;"
            f"background:{_STATUS_COLOR.get(status, '#57606a')}'></i></div></td></tr>"
        )
    failures = "".join(_tier_failures(t, cases.get(str(t.get("name")), ())) for t in tiers)
    return (
        "<section id='tiers'><h2>Tiers</h2><div class='scroll'><table><thead><tr><th>tier</th><th>status</th>"
        + "".join(
            f"<th class='n'>{k}</th>" for k in ("passed", "failed", "errors", "skipped", "flaky", "time")
        )
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
        parts.append(f"<p><b>{_e(name)}</b>: {_e(tier.get('message'))}</p>")
    failing = [c for c in cases if c.outcome in ("failed", "error")]
    if failing:
        for case in failing[:50]:
            parts.append(
                f"<details class='failure' data-tier='{_e(name)}'><summary><b>{_e(case.outcome)}</b> "
                f"<code>{_e(case.name)}</code> <span class='muted'>{_e(_first_line(case.message))}</span>"
                f"</summary><pre>{_e(case.details or case.message)}</pre></details>"
            )
    else:
        for failed in tier.get("failed_tests") or ():
            if isinstance(failed, Mapping):
                parts.append(
                    f"<details class='failure' data-tier='{_e(name)}'><summary>"
                    f"<b>{_e(failed.get('kind'))}</b> <code>{_e(failed.get('name'))}</code></summary>"
                    f"<pre>{_e(failed.get('message'))}</pre></details>"
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
        f"<tr><td>{_e(t.get('name'))}</td><td><code>{_e(f.get('name'))}</code></td>"
        f"<td class='n'>{int(_num(f.get('reruns'), 1))}</td></tr>"
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
        f"<tr><td class='n'>{case.duration:.3f} s</td><td>{_e(tier)}</td>"
        f"<td><code>{_e(case.name)}</code></td><td class='hide-sm' style='width:25%'>"
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
        return f"<section id='coverage'><h2>Coverage</h2><p><b>{_num(percent):.1f}%</b></p></section>"
    rows = []
    for path, info in sorted(files.items()):
        summary = info.get("summary", {}) if isinstance(info, Mapping) else {}
        percent = _num(summary.get("percent_covered"))
        color = "#1a7f37" if percent >= 80 else "#9a6700" if percent >= 50 else "#cf222e"
        rows.append(
            f"<tr><td><code>{_e(path)}</code></td>"
            f"<td class='n'>{int(_num(summary.get('num_statements')))}</td>"
            f"<td class='n'>{int(_num(summary.get('missing_lines')))}</td><td class='n'>{percent:.1f}%</td>"
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


def _line_chart(
    chart_id: str,
    title: str,
    series: Sequence[_Series],
    unit: str,
    *,
    x_labels: Sequence[str] | None = None,
    size: tuple[int, int] = (480, 200),
) -> str:
    """A line chart as inline SVG.

    With ``x_labels`` (trends), x is an index into them and the axis spans
    all of them, so runs line up across charts even where one lacks a value.

    ``size`` is the viewBox: a smaller one makes the text larger where the
    chart is drawn small (the trend grid).
    """
    drawn = [s for s in series if s.points]
    if not drawn:
        return ""
    (width, height), left, right, top, bottom = size, 52, 12, 12, 28
    xs = [x for s in drawn for x, _ in s.points]
    ys = [y for s in drawn for _, y in s.points]
    x_min, x_max = (0.0, float(len(x_labels) - 1)) if x_labels else (min(xs), max(xs))
    y_min, y_max = min(0.0, *ys), max(ys)
    if y_max <= y_min:
        y_max = y_min + 1.0
    x_span = (x_max - x_min) or 1.0

    def sx(x: float) -> float:
        return left + (x - x_min) / x_span * (width - left - right)

    def sy(y: float) -> float:
        return top + (1 - (y - y_min) / (y_max - y_min)) * (height - top - bottom)

    parts = [
        f"<svg id='{_e(chart_id)}' class='{'wide' if width > 400 else 'small'}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{_e(title)}'>"
        f"<title>{_e(title)}</title>"
    ]
    for i in range(5):
        value = y_min + (y_max - y_min) * i / 4
        y = sy(value)
        parts.append(
            f"<line x1='{left}' y1='{y:.1f}' x2='{width - right}' y2='{y:.1f}' stroke='#eaeef2'/>"
            f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end'>{_e(_fmt(value))}</text>"
        )
    first = x_labels[0] if x_labels else f"{_fmt(x_min)}s"
    last = x_labels[-1] if x_labels else f"{_fmt(x_max)}s"
    parts.append(f"<text x='{left}' y='{height - 8}'>{_e(first)}</text>")
    parts.append(f"<text x='{width - right}' y='{height - 8}' text-anchor='end'>{_e(last)}</text>")
    for s in drawn:
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s.points)
        parts.append(
            f"<polyline class='series' data-series='{_e(s.label)}' data-points='{len(s.points)}' "
            f"fill='none' stroke='{s.color}' stroke-width='2' points='{coords}'/>"
        )
        for x, y in s.points:
            name = x_labels[int(x)] if x_labels and 0 <= int(x) < len(x_labels) else f"{_fmt(x)}s"
            parts.append(
                f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3' fill='{s.color}'>"
                f"<title>{_e(s.label)} {_e(name)}: {_e(_fmt(y))}{_e(unit)}</title></circle>"
            )
    parts.append("</svg>")
    legend = "".join(f"<span><i style='background:{s.color}'></i>{_e(s.label)}</span>" for s in drawn)
    return (
        f"<figure style='margin:0'><h3 style='margin:0 0 4px;font-size:1em'>{_e(title)}"
        f"{' <span class=muted>(' + _e(unit.strip()) + ')</span>' if unit.strip() else ''}</h3>"
        f"{''.join(parts)}<div class='legend'>{legend}</div></figure>"
    )


def _fmt(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _performance(performance: Mapping[str, Any] | None, run_dir: Path) -> str:
    if not performance:
        return ""
    timeline = performance.get("timeline") or []
    latency = [
        _Series(key, color, tuple((p["t"], p[key]) for p in timeline if p.get(key) is not None))
        for key, color in (("p50", "#0969da"), ("p95", "#bc4c00"), ("p99", "#cf222e"))
    ]
    errors = tuple((p["t"], p["errors"]) for p in timeline if p.get("errors") is not None)
    throughput = [
        _Series(
            "requests/s", "#1a7f37", tuple((p["t"], p["rps"]) for p in timeline if p.get("rps") is not None)
        ),
        _Series("errors", "#cf222e", errors if any(y for _, y in errors) else ()),
    ]
    cards = []
    for label, value, unit in (
        ("requests", performance.get("requests"), ""),
        ("failures", performance.get("failures"), ""),
        ("requests/s", performance.get("rps"), ""),
        *((k, v, " ms") for k, v in (performance.get("latency_ms") or {}).items()),
        ("users", performance.get("users"), ""),
    ):
        if isinstance(value, int | float) and not isinstance(value, bool):
            cards.append(
                f"<div class='card'><span class='muted'>{_e(label)}</span>"
                f"<b>{_e(_fmt(float(value)))}{_e(unit)}</b></div>"
            )
    links = []
    for label, where in (performance.get("artifacts") or {}).items():
        path = run_dir / where if isinstance(where, str) else None
        if path is not None and path.is_file():
            href = Path(os.path.relpath(path.resolve(), run_dir.resolve())).as_posix()
            links.append(f"<a href='{_e(href)}'>{_e(label)}</a>")
    charts = _line_chart("latency-chart", "Latency percentiles over time", latency, " ms") + _line_chart(
        "throughput-chart", "Throughput over time", throughput, ""
    )
    return (
        "<section id='performance'><h2>Load test</h2>"
        + (f"<div class='cards'>{''.join(cards)}</div>" if cards else "")
        + (f"<div class='charts' style='margin-top:10px'>{charts}</div>" if charts else "")
        + _endpoints(performance.get("endpoints"))
        + (f"<p>Locust: {' · '.join(links)}</p>" if links else "")
        + "</section>"
    )


def _resilience(tiers: Sequence[Mapping[str, Any]]) -> str:
    """The resilience tier's headline figures and its failover timeline (fault and recovery marked)."""
    tier = next((t for t in tiers if isinstance(t.get("resilience"), Mapping)), None)
    if tier is None:
        return ""
    data: Mapping[str, Any] = tier["resilience"]
    summary = _read_summary(data.get("summary"))
    cards = "".join(
        f"<div class='card'><span class='muted'>{_e(k)}</span><b>{_e(_fmt(float(v)))}</b></div>"
        for k, v in (data.get("figures") or {}).items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    )
    failover = next((p for p in summary.get("probes") or () if p.get("probe") == "failover"), None)
    timeline = failover.get("timeline") if isinstance(failover, Mapping) else None
    charts, marks = "", ""
    if timeline:
        ok = tuple((p["t"], 100.0 * p["ok"] / p["attempts"]) for p in timeline if p.get("attempts"))
        p95 = tuple((p["t"], p["p95_ms"]) for p in timeline)
        charts = _line_chart(
            "availability-chart", "Write success per second", [_Series("success", "#1a7f37", ok)], " %"
        )
        charts += _line_chart(
            "failover-latency-chart", "Write p95 per second", [_Series("p95", "#bc4c00", p95)], " ms"
        )
        fault = [p["t"] for p in timeline if p.get("fault")]
        back = [p["t"] for p in timeline if p.get("recovered")]
        marks = f"<p>fault at {_e(fault[0] if fault else '?')} s · recovered at {_e(back[0] if back else 'no failure seen')}"
        marks += " s" if back else ""
        promoted = (
            (failover.get("figures") or {}).get("promoted_at_s") if isinstance(failover, Mapping) else None
        )
        if isinstance(promoted, int | float):  # by the failover manager (Patroni), as the replica saw it
            marks += f" · replica promoted at {_e(f'{promoted:.1f}')} s"
        marks += "</p>"
    return (
        f"<section id='resilience'><h2>Resilience <span class='muted'>scenario {_e(data.get('scenario', ''))}</span></h2>"
        + (f"<div class='cards'>{cards}</div>" if cards else "")
        + marks
        + (f"<div class='charts' style='margin-top:10px'>{charts}</div>" if charts else "")
        + "</section>"
    )


def _read_summary(path: object) -> Mapping[str, Any]:
    try:
        data = json.loads(Path(str(path)).read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, Mapping) else {}


def _endpoints(endpoints: object) -> str:
    if not isinstance(endpoints, list) or not endpoints:
        return ""
    keys = ("requests", "failures", "rps", "p50", "p95", "p99")
    rows = [
        f"<tr><td><code>{_e(e.get('name'))}</code></td>"
        + "".join(f"<td class='n'>{_e(_fmt(_num(e.get(k))))}</td>" for k in keys)
        + "</tr>"
        for e in endpoints
        if isinstance(e, Mapping)
    ]
    return (
        "<div class='scroll' style='margin-top:10px'><table><thead><tr><th>endpoint</th>"
        + "".join(f"<th class='n'>{k}{' ms' if k.startswith('p') else ''}</th>" for k in keys)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _findings(findings: Sequence[Mapping[str, str]] | None, checks: Sequence[Mapping[str, str]] = ()) -> str:
    if findings is None:
        return ""
    counts = {s: sum(1 for f in findings if f["severity"] == s and not f.get("accepted")) for s in SEVERITIES}
    chips = "".join(
        f"<div class='card' data-severity='{s}'><span class='muted'>{s}</span>"
        f"<b style='color:{_SEVERITY_COLOR[s]}'>{counts[s]}</b></div>"
        for s in SEVERITIES
    )
    rows = [
        f"<tr><td>{_badge(f['severity'], _SEVERITY_COLOR)}</td><td><code>{_e(f['id'])}</code></td>"
        f"<td>{_e(f['title'])}"
        f"{'<br><span class=muted>' + _e(f['detail']) + '</span>' if f['detail'] else ''}"
        f"{'<br><i>accepted: ' + _e(f['accepted']) + '</i>' if f.get('accepted') else ''}</td>"
        f"<td><code>{_e(f['location'])}</code></td></tr>"
        for f in findings
    ]
    table = (
        "<div class='scroll'><table><thead><tr><th>severity</th><th>id</th><th>finding</th><th>location</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
        if rows
        else "<p class='muted'>No findings.</p>"
    )
    # A check that did not run is said out loud: an empty table must not read as "all clear".
    statuses = "".join(
        f"<li data-check='{_e(c['name'])}' data-status='{_e(c['status'])}'><b>{_e(c['name'])}</b>: "
        f"{_e(c['status'])}{' (' + _e(c['reason']) + ')' if c['reason'] else ''}</li>"
        for c in checks
    )
    status_list = f"<ul id='security-checks'>{statuses}</ul>" if statuses else ""
    return (
        f"<section id='findings'><h2>Security findings</h2><div class='cards'>{chips}</div>"
        f"{status_list}{table}</section>"
    )


def _trends(history: Sequence[Mapping[str, Any]]) -> str:
    runs = list(history)[-TREND_RUNS:]
    if len(runs) < 2:
        return (
            "<section id='trends'><h2>Trends</h2><p class='muted'>Trends appear from the second run on "
            "(history: reports/history.jsonl).</p></section>"
        )
    labels = [_run_label(str(r.get("run_id", ""))) for r in runs]

    def series(key: str, label: str, color: str, scale: float = 1.0) -> _Series:
        points = tuple(
            (float(i), _num(r.get(key)) * scale)
            for i, r in enumerate(runs)
            if isinstance(r.get(key), int | float)
        )
        return _Series(label, color, points if len(points) >= 2 else ())

    small = (360, 170)
    charts = [
        _line_chart(chart_id, title, [series(key, label, color, scale)], unit, x_labels=labels, size=small)
        for chart_id, title, key, label, color, scale, unit in (
            ("trend-pass-rate", "Pass rate", "pass_rate", "pass rate", "#1a7f37", 100.0, "%"),
            ("trend-duration", "Duration", "duration_s", "duration", "#0969da", 1.0, " s"),
            ("trend-coverage", "Coverage", "coverage_percent", "coverage", "#8250df", 1.0, "%"),
            ("trend-p95", "p95 latency", "p95_ms", "p95", "#bc4c00", 1.0, " ms"),
        )
    ]
    drawn = [c for c in charts if c]
    return (
        f"<section id='trends'><h2>Trends <span class='muted'>over the last {len(runs)} runs</span></h2>"
        f"<div class='charts'>{''.join(drawn)}</div></section>"
    )


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
            f"<code title='{_e(git['commit'])}'>{_e(str(git['commit'])[:12])}</code>"
            f" on {_e(git.get('branch'))}{dirty}"
        )
    else:
        commit = "<span class='muted'>not a git checkout</span>"
    rows = [
        ("stage", _e(record.get("stage"))),
        ("target", _e(record.get("target"))),
        ("git commit", commit),
        ("run", f"<code>{_e(record.get('run_id'))}</code>"),
        ("started", _e(record.get("started_at"))),
    ]
    versions = record.get("tool_versions")
    if isinstance(versions, Mapping):
        rows += [(str(name), f"<code>{_e(version)}</code>") for name, version in versions.items()]
    gates = "".join(
        f"<li>{'✔' if g.get('passed') else '✘'} {_e(g.get('message'))}</li>"
        for g in record.get("gates") or ()
        if isinstance(g, Mapping)
    )
    files = "".join(
        f"<a href='{_e(Path(str(t[key])).name)}'>{_e(Path(str(t[key])).name)}</a> "
        for t in record.get("tiers") or ()
        if isinstance(t, Mapping)
        for key in ("junit", "log")
        if t.get(key)
    )
    return (
        "<section id='provenance'><h2>Run</h2><div class='scroll'><table><tbody>"
        + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
        + "</tbody></table></div>"
        + (f"<h2 style='margin-top:12px'>Gates</h2><ul>{gates}</ul>" if gates else "")
        + (f"<p class='muted'>evidence: {files}</p>" if files else "")
        + "</section>"
    )
