"""How anomalous each metric of a service is right now, against its own recent past."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from failcast.detect import surprise

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class ServiceEvidence:
    """A service's anomaly level in [0, 1] (its most anomalous metric) and each metric's."""

    score: float
    metrics: dict[str, float] = field(default_factory=dict)

    def top_metrics(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.metrics.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def metric_evidence(
    values: npt.ArrayLike, end: int, *, recent: int = 3, baseline: int = 288, gap: int = 12
) -> float:
    """Surprise (0..1) of the mean of the `recent` points ending at index `end` (inclusive),
    against the median and spread of `baseline` points that stop `gap` points earlier.

    The gap keeps a change that began within the last hour out of its own baseline; the spread
    is the larger of the MAD (as a sigma) and the standard deviation, so a metric that is
    usually flat (a count of rare errors) does not turn one event into a huge score.
    """
    x = np.asarray(values, dtype=np.float64)
    if not 0 <= end < len(x):
        raise ValueError(f"end {end} is outside the series of {len(x)} points")
    now = x[max(0, end - recent + 1) : end + 1]
    past = x[max(0, end - recent + 1 - gap - baseline) : max(0, end - recent + 1 - gap)]
    now, past = now[np.isfinite(now)], past[np.isfinite(past)]
    if now.size == 0 or past.size < 3:
        return 0.0
    med = float(np.median(past))
    mad = float(np.median(np.abs(past - med))) * MAD_TO_SIGMA
    scale = max(mad, float(np.std(past)), 0.01 * abs(med), 1e-9)
    return surprise(abs(float(np.mean(now)) - med) / scale)


DAY = 288  # points of the five-minute grid
WEEK = 7 * DAY


def service_evidence(
    metrics: Mapping[str, npt.ArrayLike], end: int, *, slow: bool = False
) -> ServiceEvidence:
    """Evidence of every metric of one service at index `end`.

    With `slow`, each metric is also judged against the week before yesterday, which catches a
    failure that crept in over days (the last day has absorbed it). Only the failing service
    gets this view: a dependency drifting slowly is seldom why its caller fails right now.
    """
    scores = {}
    for name, values in metrics.items():
        score = metric_evidence(values, end)
        if slow:
            score = max(score, metric_evidence(values, end, recent=12, baseline=WEEK, gap=DAY))
        scores[name] = score
    return ServiceEvidence(max(scores.values(), default=0.0), scores)
