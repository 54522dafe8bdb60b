"""The page's building blocks: escaping, numbers, badges and inline SVG line charts.

Shared by :mod:`stagewise.report.html` (the page) and
:mod:`stagewise.report.page_evidence` (the tiers' evidence sections); a tier
registered with a ``page`` renderer may use them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

SEVERITY_COLOR = {
    "critical": "#82071e",
    "high": "#cf222e",
    "medium": "#bc4c00",
    "low": "#9a6700",
    "info": "#57606a",
}


@dataclass(frozen=True)
class Series:
    """One line of a chart: its legend label, colour and (x, y) points."""

    label: str
    color: str
    points: tuple[tuple[float, float], ...]


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def num(value: object, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def badge(status: str, colors: Mapping[str, str]) -> str:
    return f"<span class='badge' style='background:{colors.get(status, '#57606a')}'>{esc(status)}</span>"


def line_chart(
    chart_id: str,
    title: str,
    series: Sequence[Series],
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
        f"<svg id='{esc(chart_id)}' class='{'wide' if width > 400 else 'small'}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{esc(title)}'>"
        f"<title>{esc(title)}</title>"
    ]
    for i in range(5):
        value = y_min + (y_max - y_min) * i / 4
        y = sy(value)
        parts.append(
            f"<line x1='{left}' y1='{y:.1f}' x2='{width - right}' y2='{y:.1f}' stroke='#eaeef2'/>"
            f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end'>{esc(fmt(value))}</text>"
        )
    first = x_labels[0] if x_labels else f"{fmt(x_min)}s"
    last = x_labels[-1] if x_labels else f"{fmt(x_max)}s"
    parts.append(f"<text x='{left}' y='{height - 8}'>{esc(first)}</text>")
    parts.append(f"<text x='{width - right}' y='{height - 8}' text-anchor='end'>{esc(last)}</text>")
    for s in drawn:
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s.points)
        parts.append(
            f"<polyline class='series' data-series='{esc(s.label)}' data-points='{len(s.points)}' "
            f"fill='none' stroke='{s.color}' stroke-width='2' points='{coords}'/>"
        )
        for x, y in s.points:
            name = x_labels[int(x)] if x_labels and 0 <= int(x) < len(x_labels) else f"{fmt(x)}s"
            parts.append(
                f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3' fill='{s.color}'>"
                f"<title>{esc(s.label)} {esc(name)}: {esc(fmt(y))}{esc(unit)}</title></circle>"
            )
    parts.append("</svg>")
    legend = "".join(f"<span><i style='background:{s.color}'></i>{esc(s.label)}</span>" for s in drawn)
    return (
        f"<figure style='margin:0'><h3 style='margin:0 0 4px;font-size:1em'>{esc(title)}"
        f"{' <span class=muted>(' + esc(unit.strip()) + ')</span>' if unit.strip() else ''}</h3>"
        f"{''.join(parts)}<div class='legend'>{legend}</div></figure>"
    )


def fmt(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
