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

from failcast.detect.base import BaseDetector, State
from failcast.detect.registry import create, restore

log = logging.getLogger("failcast.detect")

Spec = dict[str, Any]

SCORE_METRIC = "anomaly_score"
SERVICE_SCOPE = "_service"  # the `metric` label of a service-wide score
# Bump when a change to the detectors' code makes saved states meaningless.
LIVE_REVISION = 1

# The detector family that scored best on NAB (docs/benchmarks.md): the anomaly likelihood of
# the robust seasonal baseline. The NAB run adds a spatial rule and a rest period; live scores
# leave both out (see docs/detection.md), and keep 1,000 raw scores, not 8,000, so a saved
# state stays around 20 kB.
DEFAULT_DETECTOR: Spec = {
    "name": "likelihood",
    "params": {"inner": {"name": "seasonal"}, "history": 1000},
}
# Over a service's metric vector: correlations break before any one metric looks odd.
SERVICE_DETECTOR: Spec = {"name": "mahalanobis", "params": {}}


def spec_version(spec: Spec) -> str:
    """Version of a detector configuration: the live revision and a hash of the spec."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return f"{LIVE_REVISION}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def build(spec: Spec) -> BaseDetector:
    """A fresh detector for `spec` ({"name", "params"})."""
    return create(str(spec["name"]), **dict(spec.get("params", {})))


def resume(
    spec: Spec, saved: State | None, saved_version: str | None, *, what: str = ""
) -> tuple[BaseDetector, bool]:
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


def clamp(score: float) -> float:
    """A score fit to store: finite and within [0, 1]."""
    if not math.isfinite(score):
        return 0.0
    return min(1.0, max(0.0, score))


def score_stream(
    detector: BaseDetector, points: Sequence[tuple[int, float]]
) -> list[tuple[int, float]]:
    """Feed (ts, value) points in time order; returns (ts, score) for each."""
    update = detector.update
    return [(ts, clamp(update(value, ts))) for ts, value in points]


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
