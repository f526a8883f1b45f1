"""The arithmetic of range functions over each step's window, vectorised with numpy: rate,
increase and delta extrapolated as Prometheus does, irate and idelta, the *over_time family,
quantiles and histogram buckets, and topk/bottomk."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from failcast.promql.expr import (
    BadQuery,
    FloatArray,
    IntArray,
    Labels,
    Series,
    Value,
    Vector,
    stack,
)
from failcast.store.labels import NAME as NAME
from failcast.store.labels import Matcher as Matcher


def extrapolated(
    series: Series,
    lo: IntArray,
    hi: IntArray,
    ends: IntArray,
    range_ms: int,
    counter: bool,
    rate: bool,
) -> FloatArray:
    """Prometheus' extrapolatedRate for every step (rate, increase, delta)."""
    ts = series.ts
    v = series.values
    # Counter resets: each drop adds the value before it, counted inside a window only.
    if counter and len(v) > 1:
        drops = np.concatenate(([0.0], np.where(np.diff(v) < 0, v[:-1], 0.0)))
        adjusted = v + np.cumsum(drops)
    else:
        adjusted = v
    out = np.full(len(lo), np.nan)
    for i in range(len(lo)):
        a, b = int(lo[i]), int(hi[i]) - 1
        if b - a < 1:
            continue
        result = float(adjusted[b] - adjusted[a])
        # Differences of integer milliseconds first, as Prometheus does: seconds since 1970
        # as floats would lose the last digits.
        to_start = int(ts[a] - (ends[i] - range_ms)) / 1000.0
        to_end = int(ends[i] - ts[b]) / 1000.0
        sampled = int(ts[b] - ts[a]) / 1000.0
        average = sampled / (b - a)
        if counter and result > 0 and v[a] >= 0:
            to_zero = sampled * (v[a] / result)
            if to_zero < to_start:
                to_start = to_zero
        threshold = average * 1.1
        interval = sampled
        interval += to_start if to_start < threshold else average / 2
        interval += to_end if to_end < threshold else average / 2
        result *= interval / sampled
        if rate:
            result /= range_ms / 1000.0
        out[i] = result
    return out


def instant_rate(series: Series, lo: IntArray, hi: IntArray, rate: bool) -> FloatArray:
    out = np.full(len(lo), np.nan)
    ts, v = series.ts, series.values
    for i in range(len(lo)):
        b = int(hi[i]) - 1
        if b - int(lo[i]) < 1:
            continue
        last, prev = v[b], v[b - 1]
        if rate:
            diff = last if last < prev else last - prev
            out[i] = diff / (int(ts[b] - ts[b - 1]) / 1000.0)
        else:
            out[i] = last - prev
    return out


def over_time(series: Series, lo: IntArray, hi: IntArray, how: str, q: float) -> FloatArray:
    out = np.full(len(lo), np.nan)
    v = series.values
    reducers: dict[str, Callable[[FloatArray], float]] = {
        "avg": lambda w: float(np.mean(w)),
        "sum": lambda w: float(np.sum(w)),
        "min": lambda w: float(np.min(w)),
        "max": lambda w: float(np.max(w)),
        "count": lambda w: float(len(w)),
        "last": lambda w: float(w[-1]),
        "stddev": lambda w: float(np.std(w)),
        "stdvar": lambda w: float(np.var(w)),
        "present": lambda w: 1.0,
        "quantile": lambda w: quantile(q, w),
        "resets": lambda w: float(np.sum(np.diff(w) < 0)),
        "changes": lambda w: float(np.sum(np.diff(w) != 0)),
    }
    reduce = reducers[how]
    for i in range(len(lo)):
        a, b = int(lo[i]), int(hi[i])
        if b > a:
            out[i] = reduce(v[a:b])
    return out


def quantile(q: float, values: FloatArray) -> float:
    """Prometheus' quantile: linear interpolation between closest ranks."""
    if len(values) == 0:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = np.sort(values)
    rank = q * (len(ordered) - 1)
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    weight = rank - lower
    return float(ordered[lower] * (1 - weight) + ordered[upper] * weight)


RANGE_FUNCTIONS = {
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "resets",
    "changes",
    *(
        f"{how}_over_time"
        for how in (
            "avg",
            "sum",
            "min",
            "max",
            "count",
            "last",
            "stddev",
            "stdvar",
            "quantile",
            "present",
        )
    ),
}


def bucket_quantile(q: float, bounds: FloatArray, counts: FloatArray) -> float:
    present = ~np.isnan(counts)
    bounds, counts = bounds[present], counts[present]
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(counts) < 2 or not math.isinf(bounds[-1]):
        return math.nan
    counts = np.maximum.accumulate(counts)  # buckets must not decrease
    total = counts[-1]
    if total == 0:
        return math.nan
    rank = q * total
    b = int(np.searchsorted(counts, rank, side="left"))
    if b == len(counts) - 1:
        return float(bounds[-2])
    if b == 0 and bounds[0] <= 0:
        return float(bounds[0])
    start, end = (0.0, bounds[b]) if b == 0 else (bounds[b - 1], bounds[b])
    below = 0.0 if b == 0 else counts[b - 1]
    in_bucket = counts[b] - below
    if in_bucket == 0:
        return float(end)
    return float(start + (end - start) * ((rank - below) / in_bucket))


def top(block: FloatArray, k: FloatArray, largest: bool) -> FloatArray:
    out = np.full(block.shape, np.nan)
    for s in range(block.shape[1]):
        column = block[:, s]
        ok = np.flatnonzero(~np.isnan(column))
        count = int(k[s]) if math.isfinite(k[s]) else 0
        if count <= 0 or not len(ok):
            continue
        order = ok[np.argsort(column[ok], kind="stable")]
        chosen = order[::-1][:count] if largest else order[:count]
        out[chosen, s] = column[chosen]
    return out


def histogram_quantile(q: FloatArray, vector: Value) -> Vector:
    """Quantiles from classic histogram buckets (`le` labels), as Prometheus computes them."""
    if not isinstance(vector, Vector):
        raise BadQuery("histogram_quantile() takes an instant vector of buckets")
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, int]]] = {}
    for i, labels in enumerate(vector.labels):
        if "le" not in labels:
            continue
        try:
            bound = float(labels["le"].replace("+Inf", "inf"))
        except ValueError:
            continue
        key = tuple(sorted((k, v) for k, v in labels.items() if k not in ("le", NAME)))
        groups.setdefault(key, []).append((bound, i))
    out_labels: list[Labels] = []
    rows: list[FloatArray] = []
    steps = vector.values.shape[1] if vector.values.ndim == 2 else len(q)
    for key, buckets in groups.items():
        buckets.sort()
        bounds = np.array([b for b, _ in buckets])
        counts = vector.values[[i for _, i in buckets]]
        row = np.full(steps, np.nan)
        for s in range(steps):
            row[s] = bucket_quantile(float(q[s]), bounds, counts[:, s])
        out_labels.append(dict(key))
        rows.append(row)
    return Vector(out_labels, stack(rows, steps))
