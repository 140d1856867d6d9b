"""Server-rendered SVG charts of the overview (no JavaScript, no CDN): the series (revenue
bars, purchases line), members by tier (horizontal bars) and the cohort retention heat map.

Every chart is an ``<svg role="img">`` with an ``aria-label`` and a ``<title>``; it scales
by its ``viewBox`` (the CSS gives it ``width: 100%``). Each text put in the markup goes
through ``escape``; the page follows every chart with a table of the same numbers.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 640
HEAT_STEPS = 10


def _svg(label: str, width: int, height: int, body: list[str], css: str) -> SafeString:
    label = escape(label)
    # Every text in ``body`` and ``label`` went through escape(); the rest is numbers.
    return mark_safe(  # noqa: S308  # nosec B308 B703
        f'<svg class="chart {css}" role="img" aria-label="{label}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>{"".join(body)}</svg>'
    )


def _num(value) -> float:
    return float(value or 0)


def heat_class(returned: int, joined: int) -> str:
    """``heat-0`` .. ``heat-9`` by the share of a cohort that returned."""
    if not joined:
        return "heat-0"
    share = returned / joined
    return f"heat-{min(HEAT_STEPS - 1, int(share * HEAT_STEPS))}"


def series_chart(series: dict) -> SafeString:
    """Revenue per day or month as bars, purchases as a line over them (its own scale)."""
    rows = series.get("rows") or []
    height, top, bottom, left = 240, 16, 28, 8
    plot_h = height - top - bottom
    n = max(len(rows), 1)
    step = (WIDTH - 2 * left) / n
    max_rev = max([_num(r["revenue"]) for r in rows] + [1])
    max_pur = max([_num(r["purchases"]) for r in rows] + [1])
    body = [
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{WIDTH - left}" '
        f'y2="{top + plot_h}"/>'
    ]
    points = []
    for i, row in enumerate(rows):
        x = left + i * step
        h = plot_h * _num(row["revenue"]) / max_rev
        body.append(
            f'<rect class="bar revenue" x="{x + step * 0.1:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(step * 0.8, 0.5):.1f}" height="{h:.1f}"/>'
        )
        py = top + plot_h - plot_h * _num(row["purchases"]) / max_pur
        points.append(f"{x + step / 2:.1f},{py:.1f}")
    if points:
        body.append(f'<polyline class="line purchases" points="{" ".join(points)}"/>')
    if rows:
        first, last = rows[0]["start"], rows[-1]["start"]
        body.append(
            f'<text class="tick" x="{left}" y="{height - 8}">{escape(first.isoformat())}</text>'
            f'<text class="tick end" x="{WIDTH - left}" y="{height - 8}">'
            f"{escape(last.isoformat())}</text>"
        )
    label = _("Revenue (bars) and purchases (line) per %(unit)s") % {
        "unit": _("day") if series.get("unit") == "day" else _("month")
    }
    return _svg(label, WIDTH, height, body, "chart-series")


def tier_chart(rows: list[dict]) -> SafeString:
    """Active members per tier as horizontal bars, the number at the end of each."""
    bar, gap, label_w, left = 22, 10, 150, 8
    height = max(len(rows), 1) * (bar + gap) + gap
    max_v = max([_num(r["members_active"]) for r in rows] + [1])
    span = WIDTH - label_w - left - 70
    body = []
    for i, row in enumerate(rows):
        y = gap + i * (bar + gap)
        w = span * _num(row["members_active"]) / max_v
        body.append(
            f'<text class="label" x="{left}" y="{y + bar * 0.7:.1f}">{escape(row["name"])}</text>'
            f'<rect class="bar tier" x="{label_w}" y="{y}" width="{max(w, 1):.1f}" '
            f'height="{bar}"/>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + bar * 0.7:.1f}">'
            f"{escape(str(row['members_active']))}</text>"
        )
    return _svg(_("Active members by tier"), WIDTH, height, body, "chart-tiers")


def cohort_rows(cohorts: list[dict]) -> list[dict]:
    """The cohorts with each month's share and heat class, for the chart and its table."""
    out = []
    for cohort in cohorts:
        joined = cohort["joined"]
        cells = [
            {
                "returned": returned,
                "share": (Decimal(returned) / joined * 100).quantize(Decimal(1)) if joined else 0,
                "heat": heat_class(returned, joined),
            }
            for returned in cohort["returned"]
        ]
        out.append({"month": cohort["month"], "joined": joined, "cells": cells})
    return out


def cohort_heatmap(cohorts: list[dict]) -> SafeString:
    """Cohort rows (month joined) by months since joining; each cell's class is its heat."""
    rows = cohort_rows(cohorts)
    months = max([len(r["cells"]) for r in rows] + [1])
    label_w, top, cell_h = 70, 20, 22
    cell_w = (WIDTH - label_w - 4) / months
    height = top + max(len(rows), 1) * cell_h + 4
    body = [
        f'<text class="tick" x="{label_w + cell_w * m + cell_w / 2:.1f}" y="14">{m}</text>'
        for m in range(months)
    ]
    for i, row in enumerate(rows):
        y = top + i * cell_h
        body.append(
            f'<text class="label" x="2" y="{y + cell_h * 0.7:.1f}">'
            f"{escape(row['month'].strftime('%Y-%m'))}</text>"
        )
        for m, cell in enumerate(row["cells"]):
            body.append(
                f'<rect class="cell {cell["heat"]}" x="{label_w + cell_w * m:.1f}" y="{y}" '
                f'width="{cell_w - 1:.1f}" height="{cell_h - 1}">'
                f"<title>{escape(str(cell['share']))}%</title></rect>"
            )
    return _svg(
        _("Cohort retention: share of each month's new members who bought N months later"),
        WIDTH,
        height,
        body,
        "chart-cohorts",
    )
