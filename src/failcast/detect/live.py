"""Live scoring without I/O: which detector scores a stored series, how its saved state is
checked and resumed, and how its scores are labelled.

A live detector's state is saved with its detector name and a version (the detector's
configuration and `LIVE_REVISION`). A saved state whose version differs is discarded and the
detector starts afresh: resuming a state built under other parameters would mix two models.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from failcast.detect import configs
from failcast.detect.base import AnyDetector, State
from failcast.detect.registry import create, restore

log = logging.getLogger("failcast.detect")

Spec = dict[str, Any]

SCORE_METRIC = "anomaly_score"
CHANGE_METRIC = "change_score"  # the level-shift score, beside the anomaly score
SCORE_METRICS = (SCORE_METRIC, CHANGE_METRIC)
SERVICE_SCOPE = "_service"  # the `metric` label of a service-wide score
# Bump when a change to the detectors' code makes saved states meaningless.
LIVE_REVISION = 2

# The default configuration (detect/configs.py), the same that `failcast score` and the API
# use: `surprise` on each series, `surprise_vector` over a service's metric vector.
DEFAULT_DETECTOR: Spec = configs.default().spec(1)
SERVICE_DETECTOR: Spec = configs.default().spec(2)


def spec_version(spec: Spec) -> str:
    """Version of a detector configuration: the live revision and a hash of the spec."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return f"{LIVE_REVISION}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def build(spec: Spec) -> AnyDetector:
    """A fresh detector for `spec` ({"name", "params"})."""
    return create(str(spec["name"]), **dict(spec.get("params", {})))


def resume(
    spec: Spec, saved: State | None, saved_version: str | None, *, what: str = ""
) -> tuple[AnyDetector, bool]:
    """The detector to continue with, and whether a saved state was discarded."""
    version = spec_version(spec)
    if saved is None:
        return build(spec), False
    if saved_version != version or saved.get("name") != spec["name"]:
        log.info(
            "detector state reset: saved version %s, configured %s",
            saved_version,
            version,
            extra={"series": what, "detector": spec["name"]},
        )
        return build(spec), True
    return restore(saved), False


def score_labels(metric: str, labels: Mapping[str, str], detector: str) -> dict[str, str]:
    """Labels of the anomaly_score series of `metric`: its own, plus metric and detector."""
    return {**labels, "metric": metric, "detector": detector}


@dataclass(frozen=True, slots=True)
class Stream:
    """What a detector made of a run of points: the input timestamp it reached, and the
    anomaly and level-shift scores of the points that have one (warm-up has none)."""

    cursor: int
    scores: list[tuple[int, float]]
    changes: list[tuple[int, float]]


def _present(ts: Sequence[int], values: Any) -> list[tuple[int, float]]:
    return [
        (t, min(1.0, max(0.0, v)))
        for t, v in zip(ts, np.asarray(values, dtype=np.float64).tolist(), strict=True)
        if math.isfinite(v)
    ]


def score_stream(detector: AnyDetector, ts: Sequence[int], values: Any) -> Stream:
    """Feed values (one per timestamp, or one row per timestamp) in time order, as one batch:
    the same scores as point by point, by the detector contract."""
    stamps = np.asarray(ts, dtype=np.int64)
    assess = getattr(detector, "assess_many", None)
    if assess is not None:
        verdicts = assess(values, stamps)
        scores, changes = verdicts.score, verdicts.change
    else:
        scores, changes = detector.score(values, stamps), []
    return Stream(
        int(stamps[-1]), _present(ts, scores), _present(ts, changes) if len(changes) else []
    )


def rises_past(before: float | None, scores: Sequence[float], threshold: float) -> bool:
    """Whether `scores`, following the score `before` them (None: none known), reach
    `threshold` from below."""
    previous = before
    for score in scores:
        if score >= threshold and (previous is None or previous < threshold):
            return True
        previous = score
    return False


@dataclass(frozen=True, slots=True)
class Aligned:
    """Rows of a metric vector: one per timestamp, NaN where a metric has no value."""

    ts: list[int]
    rows: list[list[float]]


def align(metrics: Sequence[str], points: Mapping[str, Sequence[tuple[int, float]]]) -> Aligned:
    """Align each metric's points on their timestamps, up to the last timestamp every metric
    with data has reached (later rows may still be waiting for some of their values)."""
    with_data = [m for m in metrics if points.get(m)]
    if not with_data:
        return Aligned([], [])
    watermark = min(points[m][-1][0] for m in with_data)
    index = {m: i for i, m in enumerate(metrics)}
    rows: dict[int, list[float]] = {}
    for metric in with_data:
        column = index[metric]
        for ts, value in points[metric]:
            if ts > watermark:
                break
            row = rows.get(ts)
            if row is None:
                row = rows[ts] = [math.nan] * len(metrics)
            row[column] = value
    stamps = sorted(rows)
    return Aligned(stamps, [rows[ts] for ts in stamps])
