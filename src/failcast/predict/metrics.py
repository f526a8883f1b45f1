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

    - event_precision: share of alarm episodes (consecutive alarming rows of one service)
      followed by an incident of that service within H of their last row;
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
        return {
            "event_precision": math.nan,
            "event_recall": math.nan,
            "lead_h_median": math.nan,
            "false_alarms_per_day": 0.0,
        }
    lo, hi = int(ts.min()), int(ts.max())
    days = max((hi - lo) / (24 * HOUR_MS), 1e-9)
    names = np.asarray(services)
    warned, total, leads, false_alarms, episodes = 0, 0, [], 0, 0
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
            episodes += 1
            if not followed:
                false_alarms += 1
    return {
        "event_precision": (episodes - false_alarms) / episodes if episodes else math.nan,
        "event_recall": warned / total if total else math.nan,
        "incidents": float(total),
        "lead_h_median": float(np.median(leads)) if leads else math.nan,
        "false_alarms_per_day": false_alarms / days,
    }


def brier_skill(p: npt.ArrayLike, y: npt.ArrayLike, rate: float) -> float:
    """1 - Brier(p) / Brier(climatology), climatology forecasting `rate` for every row."""
    t = np.asarray(y, dtype=np.float64)
    reference = float(np.mean((rate - t) ** 2)) if t.size else math.nan
    return 1.0 - brier(p, t) / reference if reference > 0 else math.nan


def incident_clusters(
    ts_ms: npt.ArrayLike,
    services: Sequence[str],
    incidents: Mapping[str, tuple[IntArray, list[str]]],
) -> IntArray:
    """A cluster id per row: the rows of a service up to (and warning of) one incident share
    it, the rows after its last incident form one more. Resampling clusters resamples
    incidents with the time around them, keeping the runs of positive rows together."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    names = np.asarray(services)
    out = np.zeros(len(ts), dtype=np.int64)
    offset = 0
    for service in sorted(set(services)):
        rows = np.flatnonzero(names == service)
        starts = incidents.get(service, (np.zeros(0, dtype=np.int64), []))[0]
        nxt = np.searchsorted(starts, ts[rows], side="right")
        out[rows] = offset + nxt
        offset += len(starts) + 1
    return out


def bootstrap_intervals(
    ts_ms: npt.ArrayLike,
    services: Sequence[str],
    p: npt.ArrayLike,
    y: npt.ArrayLike,
    alarm: npt.ArrayLike,
    incidents: Mapping[str, tuple[IntArray, list[str]]],
    horizon_h: float,
    rate: float,
    *,
    ranking: npt.ArrayLike | None = None,
    replicates: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """`level` intervals of AUC-PR (of `ranking`, default `p`), Brier skill of `p` (against
    `rate`), event precision and event recall, resampling incident clusters
    (`incident_clusters`) with replacement."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    q = np.asarray(p, dtype=np.float64)
    order = q if ranking is None else np.asarray(ranking, dtype=np.float64)
    t = np.asarray(y, dtype=bool)
    fired = np.asarray(alarm, dtype=bool)
    clusters = incident_clusters(ts, services, incidents)
    ids, inverse = np.unique(clusters, return_inverse=True)
    members = [np.flatnonzero(inverse == k) for k in range(len(ids))]
    # Event counts per cluster: incidents and whether they were warned of; alarm episodes
    # (by the cluster of their first row) and whether an incident followed.
    per = np.zeros((len(ids), 4))  # incidents, warned, episodes, followed
    for cluster, warned in _incident_outcomes(ts, services, fired, incidents, horizon_h):
        k = int(np.searchsorted(ids, cluster))
        if k < len(ids) and ids[k] == cluster:
            per[k, 0] += 1
            per[k, 1] += warned
    for cluster, followed in _episode_outcomes(ts, services, fired, incidents, horizon_h):
        k = int(np.searchsorted(ids, cluster))
        per[k, 2] += 1
        per[k, 3] += followed
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {
        k: [] for k in ("auc_pr", "brier_skill", "event_precision", "event_recall")
    }
    for _ in range(replicates):
        pick = rng.integers(0, len(ids), len(ids))
        rows = np.concatenate([members[k] for k in pick]) if len(pick) else np.zeros(0, int)
        yt, qt = t[rows], q[rows]
        if yt.any() and not yt.all():
            draws["auc_pr"].append(float(average_precision_score(yt, order[rows])))
        draws["brier_skill"].append(brier_skill(qt, yt, rate))
        sums = per[pick].sum(axis=0)
        if sums[2]:
            draws["event_precision"].append(sums[3] / sums[2])
        if sums[0]:
            draws["event_recall"].append(sums[1] / sums[0])
    tail = (1.0 - level) / 2 * 100
    out = {}
    for key, values in draws.items():
        finite = [v for v in values if math.isfinite(v)]
        if finite:
            lo, hi = np.percentile(finite, [tail, 100 - tail])
            out[key] = (float(lo), float(hi))
    return out


def _service_offsets(
    services: Sequence[str], incidents: Mapping[str, tuple[IntArray, list[str]]]
) -> dict[str, int]:
    """The first cluster id of each service, as `incident_clusters` numbers them."""
    out, offset = {}, 0
    for service in sorted(set(services)):
        out[service] = offset
        offset += len(incidents.get(service, (np.zeros(0, dtype=np.int64), []))[0]) + 1
    return out


def _incident_outcomes(
    ts: IntArray,
    services: Sequence[str],
    fired: npt.NDArray[np.bool_],
    incidents: Mapping[str, tuple[IntArray, list[str]]],
    horizon_h: float,
) -> list[tuple[int, bool]]:
    """(cluster, warned) of every incident whose warning window lies among the rows."""
    h_ms = round(horizon_h * HOUR_MS)
    lo, hi = (int(ts.min()), int(ts.max())) if ts.size else (0, -1)
    names = np.asarray(services)
    offsets = _service_offsets(services, incidents)
    out = []
    for service, offset in offsets.items():
        rows = names == service
        starts = incidents.get(service, (np.zeros(0, dtype=np.int64), []))[0]
        for k, start in enumerate(starts.tolist()):
            if start - h_ms < lo or start > hi:
                continue
            window = rows & (ts >= start - h_ms) & (ts < start) & fired
            out.append((offset + k, bool(window.any())))
    return out


def _episode_outcomes(
    ts: IntArray,
    services: Sequence[str],
    fired: npt.NDArray[np.bool_],
    incidents: Mapping[str, tuple[IntArray, list[str]]],
    horizon_h: float,
) -> list[tuple[int, bool]]:
    """(cluster of its first row, followed by an incident within H) of every alarm episode."""
    h_ms = round(horizon_h * HOUR_MS)
    names = np.asarray(services)
    out = []
    for service, offset in _service_offsets(services, incidents).items():
        rows = np.flatnonzero(names == service)
        order = rows[np.argsort(ts[rows], kind="stable")]
        s_ts, s_alarm = ts[order], fired[order]
        starts = incidents.get(service, (np.zeros(0, dtype=np.int64), []))[0]
        edges = np.diff(np.r_[0, s_alarm.astype(np.int8), 0])
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            first, last = int(s_ts[a]), int(s_ts[b - 1])
            followed = bool(((starts > first) & (starts <= last + h_ms)).any())
            cluster = offset + int(np.searchsorted(starts, first, side="right"))
            out.append((cluster, followed))
    return out
