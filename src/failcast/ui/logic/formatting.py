"""Figures, ages, timestamps and metric names as a person reads them."""

from __future__ import annotations

import math
from typing import Any

# Re-exported: the pages format values and factors through `formatting`.
from failcast.readable import describe_factor as describe_factor
from failcast.readable import fmt_value as fmt_value
from failcast.readable import metric_label as metric_label
from failcast.readable import unit_of as unit_of


def fmt_pct(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}%}"


def fmt_probability(value: float) -> str:
    """A probability of failure as a person reads it: whole percents from 10 %, one decimal
    below, so that a small risk that has grown sevenfold does not read "0%" then "3%", and
    a non-zero risk never reads as none.

    >>> [fmt_probability(p) for p in (0.0, 0.0004, 0.0035, 0.029, 0.25)]
    ['0%', '<0.1%', '0.4%', '2.9%', '25%']
    """
    if value <= 0.0:
        return "0%"
    if value < 0.0005:
        return "<0.1%"
    return f"{value:.1%}" if value < 0.0995 else f"{value:.0%}"


def fmt_money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"


def fmt_num(value: Any) -> str:
    """A figure as a person reads it: floats to 3 significant digits, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else "—"
    return str(value)


def ago(seconds: float) -> str:
    """An age as a person says it: `just now`, `4 min ago`, `2 h 5 min ago`."""
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min ago" if minutes else f"{hours} h ago"
    return f"{hours // 24} days ago"


def when(stamp: str | None) -> str:
    """An API timestamp as `YYYY-MM-DD HH:MM:SS` (UTC), or a dash."""
    return str(stamp)[:19].replace("T", " ") if stamp else "—"
