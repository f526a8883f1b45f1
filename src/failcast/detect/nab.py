"""Scoring on the Numenta Anomaly Benchmark (NAB v1.1), reimplemented over numpy arrays.

Per file, the first min(floor(0.15 n), 750) rows are probation and not scored. A row whose
score reaches the threshold is a detection. Inside a labelled window only the earliest
detection counts, worth the scaled sigmoid of its position (full TP weight at the window's
first row, falling towards 0 at its last); a window without detection costs the FN weight.
A detection outside every window costs the FP weight times the sigmoid of its distance after
the preceding window (the full weight before the first window and three window lengths on).

The threshold is chosen per detector and profile over the whole corpus. NAB's current scorer
sweeps every distinct score; earlier releases searched with a hill climber starting at 0.5
that can stop at a local optimum, and a few published entries date from it. Both are here.
The normalised score is 100 (S - S_null) / (S_perfect - S_null).

The sweep is vectorised: a file's total changes with the threshold only through false
positives and through the earliest detection of each window, which moves to an earlier row
exactly when the threshold drops below a new running maximum of the window's scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CostMatrix:
    """Weights of one NAB application profile."""

    tp: float
    fp: float
    fn: float


PROFILES: dict[str, CostMatrix] = {
    "standard": CostMatrix(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": CostMatrix(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": CostMatrix(tp=1.0, fp=0.11, fn=2.0),
}

PROBATION_FRACTION = 0.15


@dataclass(frozen=True)
class ScoredFile:
    """A detector's scores for one NAB file and its labelled windows (inclusive row ranges)."""

    name: str
    scores: FloatArray
    windows: tuple[tuple[int, int], ...]


def scaled_sigmoid(x: FloatArray | float) -> FloatArray:
    """2 / (1 + e^(5x)) - 1, and -1 from three window lengths after a window on."""
    arr = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = 2.0 / (1.0 + np.exp(5.0 * arr)) - 1.0
    return np.where(arr >= 3.0, -1.0, out)


def probation_length(n: int, fraction: float = PROBATION_FRACTION) -> int:
    """Rows at the start of a file that are not scored."""
    return int(min(math.floor(fraction * n), fraction * 5000))


def window_rows(
    timestamps: npt.NDArray[np.datetime64], windows: Sequence[tuple[str, str]]
) -> tuple[tuple[int, int], ...]:
    """Row ranges of windows given as timestamp text; both ends must be rows of the file."""
    ts = np.asarray(timestamps, dtype="datetime64[ns]")
    rows: list[tuple[int, int]] = []
    for start, end in windows:
        bounds = []
        for text in (start, end):
            stamp = np.datetime64(text.strip(), "ns")
            i = int(np.searchsorted(ts, stamp))
            if i >= len(ts) or ts[i] != stamp:
                raise ValueError(f"window bound {text!r} is not a timestamp of the file")
            bounds.append(i)
        rows.append((bounds[0], bounds[1]))
    return tuple(rows)


@dataclass(frozen=True)
class Events:
    """Score changes as the threshold is lowered: at threshold[i] the total moves by delta[i]."""

    thresholds: FloatArray
    deltas: FloatArray
    windows: int  # scored windows, each costing the FN weight while undetected


def file_events(
    scores: FloatArray,
    windows: Sequence[tuple[int, int]],
    cost: CostMatrix,
    probation_fraction: float = PROBATION_FRACTION,
) -> Events:
    """The threshold events of one file (see the module docstring)."""
    s = np.asarray(scores, dtype=np.float64)
    n = len(s)
    probation = probation_length(n, probation_fraction)
    idx = np.arange(n, dtype=np.float64)
    fp_weight = np.full(n, -cost.fp)
    in_window = np.zeros(n, dtype=bool)
    previous: tuple[int, int] | None = None
    bounds = [*windows, (n, n)]
    for start, end in bounds:
        if previous is not None:
            p_start, p_end = previous
            width = p_end - p_start + 1
            gap = slice(p_end + 1, min(start, n))
            distance = (
                (idx[gap] - p_end) / (width - 1) if width > 1 else np.full(len(idx[gap]), 3.0)
            )
            fp_weight[gap] = scaled_sigmoid(distance) * cost.fp
        if start < n:
            in_window[start : end + 1] = True
            previous = (start, end)

    scored = idx >= probation
    outside = scored & ~in_window
    thresholds = [s[outside]]
    deltas = [fp_weight[outside]]
    max_tp = float(scaled_sigmoid(-1.0))
    counted = 0
    for start, end in windows:
        lo = max(start, probation)
        if lo > end:
            continue
        counted += 1
        width = end - start + 1
        rows = np.arange(lo, end + 1)
        tp_value = scaled_sigmoid(-(end - rows + 1) / width) * cost.tp / max_tp
        ws = s[lo : end + 1]
        running = np.maximum.accumulate(ws)
        record = np.ones(len(ws), dtype=bool)
        record[1:] = ws[1:] > running[:-1]
        rec_scores = ws[record]
        rec_values = tp_value[record]
        change = np.empty(len(rec_scores))
        change[-1] = rec_values[-1] + cost.fn
        change[:-1] = rec_values[:-1] - rec_values[1:]
        thresholds += [rec_scores, ws[~record]]
        deltas += [change, np.zeros(int((~record).sum()))]
    return Events(np.concatenate(thresholds), np.concatenate(deltas), counted)


def merge(events: Sequence[Events]) -> Events:
    return Events(
        np.concatenate([e.thresholds for e in events]),
        np.concatenate([e.deltas for e in events]),
        sum(e.windows for e in events),
    )


def sweep(events: Events, cost: CostMatrix) -> tuple[FloatArray, FloatArray]:
    """(thresholds, totals), thresholds descending from 1.1 (nothing detected)."""
    order = np.argsort(-events.thresholds, kind="stable")
    t = events.thresholds[order]
    totals = np.cumsum(events.deltas[order]) - cost.fn * events.windows
    last = np.ones(len(t), dtype=bool)
    last[:-1] = t[1:] != t[:-1]
    base = -cost.fn * events.windows
    return np.concatenate(([1.1], t[last])), np.concatenate(([base], totals[last]))


def total_at(events: Events, cost: CostMatrix, threshold: float) -> float:
    """Raw NAB score with detections where score >= `threshold`."""
    hit = events.thresholds >= threshold
    return float(events.deltas[hit].sum() - cost.fn * events.windows)


def hill_climb(
    objective: Callable[[float], float], start: float = 0.5, step: float = 0.1, tol: float = 1e-7
) -> tuple[float, float]:
    """Coarse-to-fine local search for the best threshold in [0, 1], as older NAB releases did.

    Try one step up, then one step down; a better score doubles the step, otherwise the step is
    halved around the current point, until the step falls below `tol`.
    """
    seen: dict[float, float] = {}

    def value(x: float) -> float:
        if x not in seen:
            seen[x] = objective(x) if 0.0 <= x <= 1.0 else -math.inf
        return seen[x]

    x = start
    best = value(x)
    while step > tol:
        x += step
        if value(x) > best:
            best = seen[x]
            step *= 2.0
            continue
        x -= 2.0 * step
        if value(x) > best:
            best = seen[x]
            step *= 2.0
            continue
        x += step
        step *= 0.5
    arg = max(seen, key=lambda k: seen[k])
    return arg, seen[arg]


@dataclass(frozen=True)
class ProfileResult:
    """Best threshold, raw score and normalised score of a detector under one profile."""

    profile: str
    threshold: float
    raw: float
    normalised: float


def normalise(raw: float, windows: int, cost: CostMatrix) -> float:
    """100 (raw - null) / (perfect - null), the null detector missing every window."""
    null = -cost.fn * windows
    perfect = cost.tp * windows
    return 100.0 * (raw - null) / (perfect - null)


def score_corpus(
    files: Sequence[ScoredFile],
    profile: str = "standard",
    method: str = "sweep",
    threshold: float | None = None,
) -> ProfileResult:
    """NAB score of a detector over `files`: at a fixed `threshold`, or the best one found by
    `method` ("sweep": every distinct score; "hill_climb": the older local search)."""
    cost = PROFILES[profile]
    events = merge([file_events(f.scores, f.windows, cost) for f in files])
    n_windows = sum(len(f.windows) for f in files)
    if threshold is not None:
        best_t, raw = threshold, total_at(events, cost, threshold)
    elif method == "sweep":
        thresholds, totals = sweep(events, cost)
        k = int(np.argmax(totals))  # ties go to the highest threshold, as in NAB
        best_t, raw = float(thresholds[k]), float(totals[k])
    elif method == "hill_climb":
        thresholds, totals = sweep(events, cost)
        ascending_t, ascending_total = thresholds[::-1], totals[::-1]

        def objective(x: float) -> float:
            return float(ascending_total[int(np.searchsorted(ascending_t, x, side="left"))])

        best_t, raw = hill_climb(objective)
    else:
        raise ValueError("method must be 'sweep' or 'hill_climb'")
    return ProfileResult(profile, best_t, raw, normalise(raw, n_windows, cost))
