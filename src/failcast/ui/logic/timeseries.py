"""Points of metric series, the anomalies on them, and the hourly cost's forecast."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def series_points(
    payload: Mapping[str, Any] | None, service: str | None = None
) -> list[tuple[float, float]]:
    """Points of a /metrics answer, summed over series with the same timestamp.

    Summing is right for the additive figures it is used for (cost per hour, requests); a
    single-series answer comes back unchanged.
    """
    if not payload:
        return []
    totals: dict[float, float] = defaultdict(float)
    for series in payload.get("series") or []:
        if service is not None and series.get("service") != service:
            continue
        for ts, value in series.get("points") or []:
            totals[float(ts)] += float(value)
    return sorted(totals.items())


def points_by_label(payload: Mapping[str, Any] | None, label: str) -> dict[str, list[Any]]:
    """Points of each series of a /metrics answer keyed by one of its labels (the
    `anomaly_score` series carry the scored metric's name in `metric`)."""
    out: dict[str, list[Any]] = {}
    for series in (payload or {}).get("series") or []:
        key = (series.get("labels") or {}).get(label)
        if key:
            out.setdefault(str(key), []).extend(series.get("points") or [])
    return out


def anomalies(
    points: Sequence[tuple[float, float]], scores: Iterable[Sequence[float]], threshold: float
) -> list[tuple[float, float]]:
    """Points of a metric at the times its anomaly score reached `threshold`."""
    flagged = {float(s[0]) for s in scores if float(s[1]) >= threshold}
    return [(t, v) for t, v in points if t in flagged]


@dataclass(frozen=True)
class CostForecast:
    """Hourly cost so far and a linear-trend forecast with a 95 % band."""

    history: list[tuple[float, float]]
    forecast: list[tuple[float, float]]
    lower: list[tuple[float, float]]
    upper: list[tuple[float, float]]
    current_per_hour: float
    projected_month: float


HOURS_PER_MONTH = 730.0


def cost_forecast(
    history: Sequence[tuple[float, float]], horizon_s: float = 24 * 3600.0, steps: int = 24
) -> CostForecast | None:
    """Least-squares line through the history, extended `horizon_s` ahead.

    The band is +-1.96 residual standard deviations, widened by the line's own uncertainty
    at each point; with fewer than three points there is no forecast.
    """
    if len(history) < 3:
        return None
    t = np.array([p[0] for p in history], dtype=float)
    y = np.array([p[1] for p in history], dtype=float)
    t0 = t[-1]
    x = t - t0
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    n = len(x)
    sigma = float(np.sqrt(np.sum(residual**2) / max(n - 2, 1)))
    mean_x = float(np.mean(x))
    sxx = float(np.sum((x - mean_x) ** 2)) or 1.0
    ahead = np.linspace(0.0, horizon_s, steps + 1)
    centre = slope * ahead + intercept
    spread = 1.96 * sigma * np.sqrt(1.0 + 1.0 / n + (ahead - mean_x) ** 2 / sxx)
    forecast = [(float(t0 + a), float(max(c, 0.0))) for a, c in zip(ahead, centre, strict=True)]
    lower = [
        (float(t0 + a), float(max(c - s, 0.0)))
        for a, c, s in zip(ahead, centre, spread, strict=True)
    ]
    upper = [(float(t0 + a), float(c + s)) for a, c, s in zip(ahead, centre, spread, strict=True)]
    current = float(y[-1])
    return CostForecast(list(history), forecast, lower, upper, current, current * HOURS_PER_MONTH)
