"""How anomalous each metric of a service is around the symptom, against its own normal period.

Every window point is turned into a robust z-score: its distance from the normal period's
median in units of the normal period's spread (the MAD as a sigma, or the mean absolute
deviation when more than half the points are equal, and never less than half a percent of
the level). A z-score is free of units and scale, so seconds and milliseconds, bytes and
percentages, counts of thousands and ratios near zero all read the same way. A value the
normal period itself reached (between its 2.5th and 97.5th percentiles) counts as at most
`SEEN_Z`, so a metric that is usually flat with rare bursts is not called anomalous for one
more burst.

A metric's anomaly is the 75th percentile of its window's z-scores: it needs a quarter of the
window to be unusual, so one stray point among a handful does not count, and a fault that
began just before the window's end still does. The z is mapped onto [0, 1) by the detectors'
tail scale (`detect.tail`): its two-sided normal surprise s = -log10(p), as s / (s + 5), with
no cap, so a 20-sigma anomaly still outranks a 10-sigma one: 3 sigma is 0.34, 4.4 is 0.5,
10 is 0.82 and 20 is 0.95.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from failcast.detect.tail import normal_two_sided, unit
from failcast.rca.roles import PRIORITY, Role, role

FloatArray = npt.NDArray[np.float64]

MAD_TO_SIGMA = 1.4826
MEAN_AD_TO_SIGMA = 1.2533
RELATIVE_FLOOR = 0.005  # the smallest spread, as a share of the level
SEEN_Z = 3.0
SEEN_QUANTILES = (2.5, 97.5)
WINDOW_QUANTILE = 75.0
ONSET_Z = 4.0
MIN_NORMAL_POINTS = 3
# A metric that reported through its normal period and not once in the window has gone
# silent: a dead process stops exporting. It counts as this many sigma.
SILENT_Z = 6.0
# Traffic alone moving counts for less: it follows users and callers more often than it
# causes a failure.
TRAFFIC_WEIGHT = 0.7
# Metrics within this share of a service's top anomaly compete to be named (see `roles`).
NAMING_TOLERANCE = 0.1


def surprise(z: float) -> float:
    """A robust z as a score in [0, 1), uncapped (see the module docstring)."""
    return unit(normal_two_sided(z))


@dataclass(frozen=True)
class Baseline:
    """A metric's normal level and spread."""

    median: float
    scale: float
    low: float
    high: float


@dataclass(frozen=True)
class MetricAnomaly:
    """One metric of one service around the symptom."""

    metric: str
    role: Role
    score: float  # 0..1, after the role's weight
    z: float  # the window's robust z (75th percentile of its points)
    value: float  # the window's median value
    normal: float  # the normal period's median
    onset_ms: int | None  # the first window time at least ONSET_Z away from normal
    silent: bool = False

    @property
    def direction(self) -> str:
        return "up" if self.value >= self.normal else "down"


def baseline(normal: npt.ArrayLike) -> Baseline | None:
    """Median, spread and usual range of the finite values of a normal period, if it has
    at least `MIN_NORMAL_POINTS` of them."""
    x = np.asarray(normal, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < MIN_NORMAL_POINTS:
        return None
    med = float(np.median(x))
    deviation = np.abs(x - med)
    scale = max(
        MAD_TO_SIGMA * float(np.median(deviation)),
        MEAN_AD_TO_SIGMA * float(np.mean(deviation)),
        RELATIVE_FLOOR * abs(med),
        1e-12,
    )
    low, high = (float(q) for q in np.percentile(x, SEEN_QUANTILES))
    return Baseline(med, scale, low, high)


def robust_z(base: Baseline, values: npt.ArrayLike) -> FloatArray:
    """|z| of each value against `base`, at most `SEEN_Z` inside the usual range; NaN stays."""
    x = np.asarray(values, dtype=np.float64)
    z = np.abs(x - base.median) / base.scale
    seen = (x >= base.low) & (x <= base.high)
    out: FloatArray = np.where(seen, np.minimum(z, SEEN_Z), z)
    return out


def metric_anomaly(
    metric: str,
    normal: npt.ArrayLike,
    window_ts: npt.ArrayLike,
    window: npt.ArrayLike,
) -> MetricAnomaly | None:
    """The anomaly of one metric; None when its normal period is too short to judge it.

    `window_ts` are epoch milliseconds of the window's values, in ascending order.
    """
    base = baseline(normal)
    if base is None:
        return None
    kind = role(metric)
    weight = TRAFFIC_WEIGHT if kind == "traffic" else 1.0
    ts = np.asarray(window_ts, dtype=np.int64)
    x = np.asarray(window, dtype=np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        first = int(ts[0]) if ts.size else None
        return MetricAnomaly(
            metric, kind, weight * surprise(SILENT_Z), SILENT_Z, float("nan"), base.median,
            first, silent=True,
        )  # fmt: skip
    ts, x = ts[finite], x[finite]
    z = robust_z(base, x)
    level = float(np.percentile(z, WINDOW_QUANTILE))
    above = np.flatnonzero(z >= ONSET_Z)
    onset = int(ts[above[0]]) if above.size else None
    return MetricAnomaly(
        metric, kind, weight * surprise(level), level, float(np.median(x)), base.median, onset
    )


@dataclass(frozen=True)
class ServiceAnomaly:
    """A service's anomaly (its most anomalous metric's) with the metric named for it."""

    service: str
    score: float
    metric: MetricAnomaly | None
    metrics: tuple[MetricAnomaly, ...]  # most anomalous first
    onset_ms: int | None

    @property
    def judged(self) -> bool:
        """Whether any metric of the service could be judged at all."""
        return bool(self.metrics)


def service_anomaly(
    service: str, metrics: list[MetricAnomaly], *, evidence_floor: float
) -> ServiceAnomaly:
    """Aggregate a service's metrics: its score is the top metric score; the metric named is,
    among those within `NAMING_TOLERANCE` of the top, the one whose role points most
    directly at a cause, then the largest z. The onset is when the metric with the largest z
    (among those at or above `evidence_floor`) became anomalous: an older, milder anomaly of
    the same service (a slow leak) does not date a new failure."""
    ordered = tuple(sorted(metrics, key=lambda m: (-m.score, -m.z, m.metric)))
    if not ordered:
        return ServiceAnomaly(service, 0.0, None, (), None)
    top = ordered[0].score
    close = [m for m in ordered if m.score >= top - NAMING_TOLERANCE]
    named = min(close, key=lambda m: (PRIORITY[m.role], -m.z, m.metric))
    dated = [m for m in ordered if m.score >= evidence_floor and m.onset_ms is not None]
    onset = max(dated, key=lambda m: (m.z, -(m.onset_ms or 0))).onset_ms if dated else None
    return ServiceAnomaly(service, top, named, ordered, onset)
