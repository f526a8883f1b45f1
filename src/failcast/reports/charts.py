"""The report's charts as PNG images, drawn with matplotlib's Agg backend (no display, no
global pyplot state, so charts can be drawn from worker threads)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import matplotlib.dates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# matplotlib's date helpers carry no annotations.
_dates: Any = matplotlib.dates

INK = "#1f2937"
MUTED = "#6b7280"
BLUE = "#2563eb"
BANDS = (("#dcfce7", 80, 100), ("#fef9c3", 60, 80), ("#fee2e2", 0, 60))
TYPE_COLOURS = ["#2563eb", "#dc2626", "#d97706", "#7c3aed", "#059669", "#db2777"]


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=160)
    return buffer.getvalue()


def _figure() -> Figure:
    figure = Figure(figsize=(7.0, 2.6), layout="constrained")
    figure.patch.set_facecolor("white")
    return figure


def _num(value: datetime) -> float:
    return float(_dates.date2num(value))


def _date_axis(axes: Any) -> None:
    locator = _dates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(_dates.ConciseDateFormatter(locator))


def _style(axes: Any) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(MUTED)
    axes.tick_params(colors=INK, labelsize=8)


def health_trend(points: Sequence[tuple[datetime, float | None]]) -> bytes:
    """Org health over the period on the ok / warning / critical bands."""
    figure = _figure()
    axes = figure.add_subplot()
    for colour, low, high in BANDS:
        axes.axhspan(low, high, color=colour, zorder=0)
    known = [(t, s) for t, s in points if s is not None]
    if known:
        times, scores = zip(*known, strict=True)
        axes.plot(
            [_num(t) for t in times],
            scores,
            color=BLUE,
            linewidth=2,
            marker="o",
            markersize=3,
            zorder=3,
        )
    else:
        axes.text(0.5, 0.5, "no health data in this period", transform=axes.transAxes,
                  ha="center", va="center", color=MUTED)  # fmt: skip
    if points:
        axes.set_xlim(_num(points[0][0]), _num(points[-1][0]))
    _date_axis(axes)
    axes.set_ylim(0, 100)
    axes.set_ylabel("health score", color=INK, fontsize=8)
    _style(axes)
    return _png(figure)


def incidents_per_day(
    incidents: Sequence[tuple[datetime, str]], start: datetime, end: datetime
) -> bytes:
    """Incidents started per day, stacked by type."""
    figure = _figure()
    axes = figure.add_subplot()
    days = []
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        days.append(day)
        day += timedelta(days=1)
    types = [t for t, _ in Counter(kind for _, kind in incidents).most_common()]
    bottoms = [0] * len(days)
    for n, kind in enumerate(types):
        counts = [
            sum(1 for at, k in incidents if k == kind and d <= at < d + timedelta(days=1))
            for d in days
        ]
        colour = TYPE_COLOURS[n % len(TYPE_COLOURS)]
        label = kind.replace("_", " ")
        x = [_num(d) for d in days]
        axes.bar(x, counts, width=0.8, bottom=bottoms, label=label, color=colour, align="edge")
        bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
    if not incidents:
        axes.text(0.5, 0.5, "no incidents in this period", transform=axes.transAxes,
                  ha="center", va="center", color=MUTED)  # fmt: skip
    else:
        axes.legend(fontsize=7, frameon=False, loc="upper left")
    _date_axis(axes)
    axes.set_ylabel("incidents", color=INK, fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    _style(axes)
    return _png(figure)
