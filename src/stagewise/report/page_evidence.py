"""The page's evidence sections: the load test, the resilience figures, the security findings.

Each renders from the run's record (``summary.json``) and the evidence files
it points at (see :mod:`stagewise.report.artifacts`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stagewise.report.artifacts import SEVERITIES
from stagewise.report.page_parts import SEVERITY_COLOR, Series, badge, esc, fmt, line_chart, num


def performance_section(performance: Mapping[str, Any] | None, run_dir: Path) -> str:
    if not performance:
        return ""
    timeline = performance.get("timeline") or []
    latency = [
        Series(key, color, tuple((p["t"], p[key]) for p in timeline if p.get(key) is not None))
        for key, color in (("p50", "#0969da"), ("p95", "#bc4c00"), ("p99", "#cf222e"))
    ]
    errors = tuple((p["t"], p["errors"]) for p in timeline if p.get("errors") is not None)
    throughput = [
        Series(
            "requests/s", "#1a7f37", tuple((p["t"], p["rps"]) for p in timeline if p.get("rps") is not None)
        ),
        Series("errors", "#cf222e", errors if any(y for _, y in errors) else ()),
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
                f"<div class='card'><span class='muted'>{esc(label)}</span>"
                f"<b>{esc(fmt(float(value)))}{esc(unit)}</b></div>"
            )
    links = []
    for label, where in (performance.get("artifacts") or {}).items():
        path = run_dir / where if isinstance(where, str) else None
        if path is not None and path.is_file():
            href = Path(os.path.relpath(path.resolve(), run_dir.resolve())).as_posix()
            links.append(f"<a href='{esc(href)}'>{esc(label)}</a>")
    charts = line_chart("latency-chart", "Latency percentiles over time", latency, " ms") + line_chart(
        "throughput-chart", "Throughput over time", throughput, ""
    )
    return (
        "<section id='performance'><h2>Load test</h2>"
        + (f"<div class='cards'>{''.join(cards)}</div>" if cards else "")
        + (f"<div class='charts' style='margin-top:10px'>{charts}</div>" if charts else "")
        + endpoints_table(performance.get("endpoints"))
        + (f"<p>Locust: {' · '.join(links)}</p>" if links else "")
        + "</section>"
    )


def resilience_section(tiers: Sequence[Mapping[str, Any]]) -> str:
    """The resilience tier's headline figures and its failover timeline (fault and recovery marked)."""
    tier = next((t for t in tiers if isinstance(t.get("resilience"), Mapping)), None)
    if tier is None:
        return ""
    data: Mapping[str, Any] = tier["resilience"]
    summary = read_summary(data.get("summary"))
    cards = "".join(
        f"<div class='card'><span class='muted'>{esc(k)}</span><b>{esc(fmt(float(v)))}</b></div>"
        for k, v in (data.get("figures") or {}).items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    )
    failover = next((p for p in summary.get("probes") or () if p.get("probe") == "failover"), None)
    timeline = failover.get("timeline") if isinstance(failover, Mapping) else None
    charts, marks = "", ""
    if timeline:
        ok = tuple((p["t"], 100.0 * p["ok"] / p["attempts"]) for p in timeline if p.get("attempts"))
        p95 = tuple((p["t"], p["p95_ms"]) for p in timeline)
        charts = line_chart(
            "availability-chart", "Write success per second", [Series("success", "#1a7f37", ok)], " %"
        )
        charts += line_chart(
            "failover-latency-chart", "Write p95 per second", [Series("p95", "#bc4c00", p95)], " ms"
        )
        fault = [p["t"] for p in timeline if p.get("fault")]
        back = [p["t"] for p in timeline if p.get("recovered")]
        marks = f"<p>fault at {esc(fault[0] if fault else '?')} s · recovered at {esc(back[0] if back else 'no failure seen')}"
        marks += " s" if back else ""
        promoted = (
            (failover.get("figures") or {}).get("promoted_at_s") if isinstance(failover, Mapping) else None
        )
        if isinstance(promoted, int | float):  # by the failover manager (Patroni), as the replica saw it
            marks += f" · replica promoted at {esc(f'{promoted:.1f}')} s"
        marks += "</p>"
    return (
        f"<section id='resilience'><h2>Resilience <span class='muted'>scenario {esc(data.get('scenario', ''))}</span></h2>"
        + (f"<div class='cards'>{cards}</div>" if cards else "")
        + marks
        + (f"<div class='charts' style='margin-top:10px'>{charts}</div>" if charts else "")
        + "</section>"
    )


def read_summary(path: object) -> Mapping[str, Any]:
    try:
        data = json.loads(Path(str(path)).read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, Mapping) else {}


def endpoints_table(endpoints: object) -> str:
    if not isinstance(endpoints, list) or not endpoints:
        return ""
    keys = ("requests", "failures", "rps", "p50", "p95", "p99")
    rows = [
        f"<tr><td><code>{esc(e.get('name'))}</code></td>"
        + "".join(f"<td class='n'>{esc(fmt(num(e.get(k))))}</td>" for k in keys)
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


def findings_section(
    findings: Sequence[Mapping[str, str]] | None, checks: Sequence[Mapping[str, str]] = ()
) -> str:
    if findings is None:
        return ""
    counts = {s: sum(1 for f in findings if f["severity"] == s and not f.get("accepted")) for s in SEVERITIES}
    chips = "".join(
        f"<div class='card' data-severity='{s}'><span class='muted'>{s}</span>"
        f"<b style='color:{SEVERITY_COLOR[s]}'>{counts[s]}</b></div>"
        for s in SEVERITIES
    )
    rows = [
        f"<tr><td>{badge(f['severity'], SEVERITY_COLOR)}</td><td><code>{esc(f['id'])}</code></td>"
        f"<td>{esc(f['title'])}"
        f"{'<br><span class=muted>' + esc(f['detail']) + '</span>' if f['detail'] else ''}"
        f"{'<br><i>accepted: ' + esc(f['accepted']) + '</i>' if f.get('accepted') else ''}</td>"
        f"<td><code>{esc(f['location'])}</code></td></tr>"
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
        f"<li data-check='{esc(c['name'])}' data-status='{esc(c['status'])}'><b>{esc(c['name'])}</b>: "
        f"{esc(c['status'])}{' (' + esc(c['reason']) + ')' if c['reason'] else ''}</li>"
        for c in checks
    )
    status_list = f"<ul id='security-checks'>{statuses}</ul>" if statuses else ""
    return (
        f"<section id='findings'><h2>Security findings</h2><div class='cards'>{chips}</div>"
        f"{status_list}{table}</section>"
    )
