"""How good a failure forecast is: row-level scores, warnings per incident and false alarms."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score

from failcast.predict.calibration import brier
from failcast.predict.labels import HOUR_MS, IntArray

DEFAULT_MIN_PRECISION = 0.85


def choose_threshold(
    p: npt.ArrayLike, y: npt.ArrayLike, min_precision: float = DEFAULT_MIN_PRECISION
) -> float:
    """The threshold with the highest recall whose precision reaches `min_precision`, else the
    one with the best F1. Meant for validation data only."""
    q = np.asarray(p, dtype=np.float64)
    t = np.asarray(y, dtype=bool)
    if not t.any():
        return 1.0
    order = np.argsort(-q, kind="stable")
    qs, ts = q[order], t[order]
    tp = np.cumsum(ts)
    fp = np.cumsum(~ts)
    # Only cut where the score changes, so a threshold keeps or drops whole ties.
    last = np.flatnonzero(np.r_[qs[1:] != qs[:-1], True])
    precision = tp[last] / (tp[last] + fp[last])
    recall = tp[last] / t.sum()
    ok = precision >= min_precision
    if ok.any():
        pick = last[ok][np.argmax(recall[ok])]
    else:
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        pick = last[int(np.argmax(f1))]
    return float(qs[pick])


def classification(
    p: npt.ArrayLike,
    y: npt.ArrayLike,
    threshold: float,
    alarms: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """Precision, recall and F1 of the alarms (`p >= threshold` unless given), AUC-PR (average
    precision) and Brier score of `p`."""
    q = np.asarray(p, dtype=np.float64)
    t = np.asarray(y, dtype=bool)
    alarm = q >= threshold if alarms is None else np.asarray(alarms, dtype=bool)
    tp = int((alarm & t).sum())
    fp = int((alarm & ~t).sum())
    fn = int((~alarm & t).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = float(average_precision_score(t, q)) if t.any() and not t.all() else math.nan
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc_pr": auc,
        "brier": brier(q, t),
        "positives": float(t.sum()),
        "rows": float(len(t)),
    }


def events(
    ts_ms: npt.ArrayLike,
    services: Sequence[str],
    alarm: npt.ArrayLike,
    incidents: Mapping[str, tuple[IntArray, list[str]]],
    horizon_h: float,
) -> dict[str, float]:
    """Incident-level figures over the evaluated rows.

    - event_recall: share of incidents (whose whole warning window [start - H, start) was
      evaluated) with at least one alarm in that window for their service;
    - lead_h_median: median hours from the first such alarm to the start;
    - false_alarms_per_day: alarm episodes (consecutive alarming rows of one service) after
      which no incident of that service starts within H, per day of evaluated time.
    """
    ts = np.asarray(ts_ms, dtype=np.int64)
    fired = np.asarray(alarm, dtype=bool)
    h_ms = round(horizon_h * HOUR_MS)
    if ts.size == 0:
        return {"event_recall": math.nan, "lead_h_median": math.nan, "false_alarms_per_day": 0.0}
    lo, hi = int(ts.min()), int(ts.max())
    days = max((hi - lo) / (24 * HOUR_MS), 1e-9)
    names = np.asarray(services)
    warned, total, leads, false_alarms = 0, 0, [], 0
    for service in sorted(set(services)):
        rows = np.flatnonzero(names == service)
        s_ts, s_alarm = ts[rows], fired[rows]
        order = np.argsort(s_ts, kind="stable")
        s_ts, s_alarm = s_ts[order], s_alarm[order]
        starts = incidents.get(service, (np.zeros(0, dtype=np.int64), []))[0]
        for start in starts.tolist():
            if start - h_ms < lo or start > hi:
                continue
            total += 1
            window = (s_ts >= start - h_ms) & (s_ts < start) & s_alarm
            if window.any():
                warned += 1
                leads.append((start - int(s_ts[window].min())) / HOUR_MS)
        # Alarm episodes: runs of consecutive alarming rows.
        edges = np.diff(np.r_[0, s_alarm.astype(np.int8), 0])
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            first, last = int(s_ts[a]), int(s_ts[b - 1])
            followed = ((starts > first) & (starts <= last + h_ms)).any()
            if not followed:
                false_alarms += 1
    return {
        "event_recall": warned / total if total else math.nan,
        "incidents": float(total),
        "lead_h_median": float(np.median(leads)) if leads else math.nan,
        "false_alarms_per_day": false_alarms / days,
    }
