"""One root-cause analysis, from series and a call graph to a ranked answer; no I/O.

This is the path `failcast rca`, `POST /api/v1/rca` and `bench/rca.py` all take, with the
same defaults. The window around the symptom is [at - before, at + after]; the normal period
is `normal` when given, else the `normal_ms` (an hour by default) just before the window: a
recent normal period follows the time of day, where a longer one would take the daily swing
of traffic for the spread and hide a fault inside it. Counters (names ending in
`_total`, `_count` or `_sum`, or series that only ever go up) are read as per-second rates
first, since a counter's level says nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from failcast.rca.anomaly import MetricAnomaly, ServiceAnomaly, metric_anomaly, service_anomaly
from failcast.rca.rank import Candidate, Ranking, Settings, Verdict, rank

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BEFORE_MS = 5 * 60_000
AFTER_MS = 10 * 60_000
NORMAL_MS = 60 * 60_000
SLOW_MS = 24 * 3_600_000
TOP_CANDIDATES = 10
_COUNTER_NAME = re.compile(r"_(total|count|sum)$")


class AnalysisError(ValueError):
    """The question cannot be answered from these inputs; the message says why, and `field`
    names the part of the question at fault (service, metric or at)."""

    def __init__(self, message: str, field: str = "service") -> None:
        super().__init__(message)
        self.field = field


def series_name(metric: str, labels: Mapping[str, str]) -> str:
    """A metric with its labels, Prometheus-style: `latency{route="/pay"}`."""
    if not labels:
        return metric
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{inner}}}"


@dataclass(frozen=True)
class Series:
    """One metric of one service: epoch-millisecond times (ascending) and values."""

    service: str
    metric: str
    ts: IntArray
    values: FloatArray


@dataclass(frozen=True)
class Question:
    """What was seen (a service, optionally one of its metrics) and when."""

    service: str
    at_ms: int
    metric: str | None = None
    before_ms: int = BEFORE_MS
    after_ms: int = AFTER_MS
    normal_ms: int = NORMAL_MS


@dataclass(frozen=True)
class Analysis:
    question: Question
    ranking: Ranking
    symptom: ServiceAnomaly | None
    window: tuple[int, int]
    normal: tuple[int, int] | None
    services: int
    unjudged: tuple[str, ...] = field(default=())  # services with no metric that could be judged

    @property
    def verdict(self) -> Verdict:
        return self.ranking.verdict

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        return self.ranking.candidates

    def to_dict(self, top: int = TOP_CANDIDATES) -> dict[str, Any]:
        """The JSON answer: verdict, reason and the best candidates with their evidence."""
        return {
            "verdict": self.verdict,
            "reason": self.ranking.reason,
            "symptom": {
                "service": self.question.service,
                "metric": self.question.metric,
                "at_ms": self.question.at_ms,
            },
            "window_ms": list(self.window),
            "normal_ms": None if self.normal is None else list(self.normal),
            "close": list(self.ranking.close),
            "unjudged": list(self.unjudged),
            "candidates": [candidate_dict(c) for c in self.candidates[:top]],
        }


def _round(value: float, digits: int = 4) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def _format(value: float) -> str:
    return "no data" if not math.isfinite(value) else f"{value:.4g}"


def describe(m: MetricAnomaly) -> str:
    """One metric's evidence as a person reads it."""
    if m.silent:
        return f"{m.metric} stopped reporting (normally {_format(m.normal)})"
    return f"{m.metric} {m.direction} to {_format(m.value)} from {_format(m.normal)} (z {m.z:.1f})"


def evidence(c: Candidate) -> str:
    """Why a candidate scores what it does, in one sentence."""
    a = c.anomaly
    if a.metric is None:
        return "no metric could be compared with a normal period"
    text = describe(a.metric)
    if c.explained_by is not None:
        text += f"; partly explained by its dependency {c.explained_by}"
    if not c.in_cone:
        text += "; outside the symptom's dependencies"
    return text


def candidate_dict(c: Candidate) -> dict[str, Any]:
    a = c.anomaly
    return {
        "service": c.service,
        "metric": a.metric.metric if a.metric else None,
        "score": round(c.score, 4),
        "evidence": evidence(c),
        "anomaly": round(a.score, 4),
        "explained_by": c.explained_by,
        "in_cone": c.in_cone,
        "hops": c.hops,
        "onset_ms": a.onset_ms,
        "metrics": [
            {
                "metric": m.metric,
                "role": m.role,
                "score": round(m.score, 4),
                "z": _round(m.z, 2),
                "value": _round(m.value),
                "normal": _round(m.normal),
            }
            for m in a.metrics[:3]
        ],
    }


def is_counter(metric: str, values: FloatArray) -> bool:
    """A cumulative counter: named like one, or never going down and mostly going up."""
    if _COUNTER_NAME.search(metric.split("{", 1)[0]):
        return True
    x = values[np.isfinite(values)]
    if x.size < 10:
        return False
    steps = np.diff(x)
    return bool((steps < 0).mean() <= 0.01 and (steps > 0).mean() >= 0.9)


def as_rate(ts: IntArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    """Per-second increase of a counter between consecutive samples; a reset (a drop) starts
    again from zero, as Prometheus' `rate` reads it."""
    keep = np.isfinite(values)
    ts, values = ts[keep], values[keep]
    if ts.size < 2:
        return ts[:0], values[:0]
    dt = np.diff(ts) / 1000.0
    dv = np.diff(values)
    dv = np.where(dv < 0, values[1:], dv)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(dt > 0, dv / dt, np.nan)
    return ts[1:], rate


def _prepared(series: Series) -> Series:
    ts = np.asarray(series.ts, dtype=np.int64)
    values = np.asarray(series.values, dtype=np.float64)
    order = np.argsort(ts, kind="stable")
    ts, values = ts[order], values[order]
    if is_counter(series.metric, values):
        ts, values = as_rate(ts, values)
    return Series(series.service, series.metric, ts, values)


def _group(series: Iterable[Series]) -> dict[str, dict[str, Series]]:
    out: dict[str, dict[str, Series]] = {}
    for s in series:
        out.setdefault(s.service, {})[s.metric] = _prepared(s)
    return out


def _step_ms(groups: Mapping[str, Mapping[str, Series]]) -> int:
    """The typical sampling interval across every series (0 when unknown)."""
    steps = [
        float(np.median(np.diff(s.ts)))
        for m in groups.values()
        for s in m.values()
        if s.ts.size > 1
    ]
    return int(np.median(steps)) if steps else 0


def _fell_silent(s: Series, lo: int, data_end: int) -> int | None:
    """When a series that reported up to the window stopped (its next sample was due), if
    it has been silent for three of its usual intervals while others kept reporting."""
    if s.ts.size < 2:
        return None
    usual = float(np.median(np.diff(s.ts)))
    last = int(s.ts[-1])
    if last + usual < lo - 3 * usual or last + 3 * usual > data_end:
        return None
    return int(last + usual)


def analyse(
    series: Sequence[Series],
    dependencies: Mapping[str, Sequence[str]],
    question: Question,
    *,
    normal: Sequence[Series] | None = None,
    settings: Settings | None = None,
) -> Analysis:
    """Rank the services of `series` (and of `dependencies`) as the cause of the symptom."""
    settings = settings or Settings()
    if min(question.before_ms, question.after_ms) < 0 or question.normal_ms <= 0:
        raise AnalysisError("the window cannot be negative, nor the normal period empty", "at")
    lo, hi = question.at_ms - question.before_ms, question.at_ms + question.after_ms
    groups = _group(series)
    learned = _group(normal) if normal is not None else None
    known = set(groups) | set(dependencies) | {d for ds in dependencies.values() for d in ds}
    if question.service not in known:
        raise AnalysisError(
            f"symptom service {question.service!r} is neither in the samples nor in the topology"
        )
    if question.metric is not None and question.metric not in groups.get(question.service, {}):
        have = sorted(groups.get(question.service, {}))
        raise AnalysisError(
            f"symptom metric {question.metric!r} has no samples for {question.service}"
            + (f"; it has {', '.join(have)}" if have else ""),
            "metric",
        )
    in_window = [
        s for m in groups.values() for s in m.values() if np.any((s.ts >= lo) & (s.ts <= hi))
    ]
    if not in_window:
        raise AnalysisError("no samples fall in the window around the symptom time", "at")

    data_end = min(hi, max(int(s.ts[(s.ts >= lo) & (s.ts <= hi)][-1]) for s in in_window))
    step = _step_ms(groups)
    tolerance = max(settings.onset_tolerance_ms, 2 * step)
    settings = replace(settings, onset_tolerance_ms=tolerance)
    anomalies: dict[str, ServiceAnomaly] = {}
    unjudged: list[str] = []
    normal_span: list[int] = []
    for service in sorted(groups):
        found = []
        for name, s in groups[service].items():
            if learned is not None:
                base = learned.get(service, {}).get(name)
                past = base.values if base is not None else np.empty(0)
                if base is not None and base.ts.size:
                    normal_span += [int(base.ts[0]), int(base.ts[-1])]
            else:
                before = (s.ts < lo) & (s.ts >= lo - question.normal_ms)
                past = s.values[before]
                if before.any():
                    normal_span += [int(s.ts[before][0]), int(s.ts[before][-1])]
            inside = (s.ts >= lo) & (s.ts <= hi)
            window_ts, window_values = s.ts[inside], s.values[inside]
            due = _fell_silent(s, lo, data_end)
            if due is not None:
                window_ts, window_values = np.array([due], dtype=np.int64), np.array([np.nan])
            elif not window_ts.size:
                continue
            reading = metric_anomaly(name, past, window_ts, window_values)
            if service == question.service and learned is None:
                # The symptom is also judged against the day before its normal period, which
                # catches a failure that crept in over hours (the last hour has absorbed it).
                # Only the symptom: a dependency drifting slowly seldom explains a symptom now.
                start = lo - question.normal_ms
                slow = s.values[(s.ts < start) & (s.ts >= start - SLOW_MS)]
                other = metric_anomaly(name, slow, window_ts, window_values)
                if other is not None and (reading is None or other.score > reading.score):
                    reading = other
            if reading is not None:
                found.append(reading)
        if found:
            anomalies[service] = service_anomaly(
                service, found, evidence_floor=settings.evidence_floor
            )
        else:
            unjudged.append(service)
    unjudged += sorted(known - set(groups))
    if question.metric is not None and question.service in anomalies:
        symptom = anomalies[question.service]
        own = next((m for m in symptom.metrics if m.metric == question.metric), None)
        if own is not None and own.onset_ms is not None:
            # The symptom began when its named metric did.
            anomalies[question.service] = ServiceAnomaly(
                symptom.service, symptom.score, symptom.metric, symptom.metrics, own.onset_ms
            )
    ranking = rank(question.service, dependencies, anomalies, settings)
    span = (min(normal_span), max(normal_span)) if normal_span else None
    return Analysis(
        question, ranking, anomalies.get(question.service), (lo, hi), span, len(known),
        tuple(unjudged),
    )  # fmt: skip
