"""Distribution drift between a reference window and a current window of one or more features.

Four measures, each an effect size: the population stability index (PSI), the Kolmogorov-Smirnov
statistic, the Wasserstein distance in reference standard deviations, and the Jensen-Shannon
divergence in bits. A feature drifts when one effect size passes its threshold *and* the KS
test says the difference is not a small-sample accident; p-values alone would flag trivial
differences on large windows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from failcast.detect.base import FloatArray

_EPS = 1e-4


def _clean(values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    return arr[np.isfinite(arr)]


def _edges(reference: FloatArray, bins: int) -> FloatArray:
    inner = np.unique(np.quantile(reference, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    return np.concatenate(([-np.inf], inner, [np.inf]))


def _proportions(values: FloatArray, edges: FloatArray) -> FloatArray:
    counts = np.histogram(values, bins=edges)[0].astype(np.float64)
    out: FloatArray = (counts + _EPS) / (counts.sum() + _EPS * len(counts))
    return out


def psi(reference: npt.ArrayLike, current: npt.ArrayLike, bins: int = 10) -> float:
    """Population stability index over the reference's quantile bins (0.1 moderate, 0.2 major)."""
    ref, cur = _clean(reference), _clean(current)
    if len(ref) == 0 or len(cur) == 0:
        return math.nan
    edges = _edges(ref, bins)
    p, q = _proportions(ref, edges), _proportions(cur, edges)
    return float(np.sum((q - p) * np.log(q / p)))


def ks(reference: npt.ArrayLike, current: npt.ArrayLike) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and its p-value."""
    ref, cur = _clean(reference), _clean(current)
    if len(ref) == 0 or len(cur) == 0:
        return math.nan, math.nan
    result = stats.ks_2samp(ref, cur)
    return float(result.statistic), float(result.pvalue)


def wasserstein(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Earth mover's distance divided by the reference standard deviation (scale-free)."""
    ref, cur = _clean(reference), _clean(current)
    if len(ref) == 0 or len(cur) == 0:
        return math.nan
    scale = float(np.std(ref))
    if scale == 0.0:
        scale = max(abs(float(np.mean(ref))), 1.0) * 1e-6
    return float(stats.wasserstein_distance(ref, cur)) / scale


def jensen_shannon(reference: npt.ArrayLike, current: npt.ArrayLike, bins: int = 20) -> float:
    """Jensen-Shannon divergence (base 2, within [0, 1]) over shared equal-width bins."""
    ref, cur = _clean(reference), _clean(current)
    if len(ref) == 0 or len(cur) == 0:
        return math.nan
    lo = min(float(ref.min()), float(cur.min()))
    hi = max(float(ref.max()), float(cur.max()))
    if hi <= lo:
        return 0.0
    edges = np.linspace(lo, hi, bins + 1)
    p = np.histogram(ref, bins=edges)[0] / len(ref)
    q = np.histogram(cur, bins=edges)[0] / len(cur)
    m = 0.5 * (p + q)

    def kl(a: FloatArray, b: FloatArray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / b[nz])))

    return max(0.0, min(1.0, 0.5 * kl(p, m) + 0.5 * kl(q, m)))


@dataclass(frozen=True)
class DriftThresholds:
    """Effect sizes beyond which a feature counts as drifted, and the KS significance guard."""

    psi: float = 0.2
    ks: float = 0.1
    wasserstein: float = 0.25
    jensen_shannon: float = 0.1
    alpha: float = 0.01


@dataclass(frozen=True)
class DriftResult:
    """Drift measures of one feature; `severity` >= 1 means at least one threshold is passed."""

    feature: str
    psi: float
    ks: float
    ks_pvalue: float
    wasserstein: float
    jensen_shannon: float
    severity: float
    drifted: bool


def drift(
    feature: str,
    reference: npt.ArrayLike,
    current: npt.ArrayLike,
    thresholds: DriftThresholds | None = None,
) -> DriftResult:
    """All four measures for one feature, and whether it drifted."""
    th = thresholds or DriftThresholds()
    p = psi(reference, current)
    d, pvalue = ks(reference, current)
    w = wasserstein(reference, current)
    j = jensen_shannon(reference, current)
    ratios = [p / th.psi, d / th.ks, w / th.wasserstein, j / th.jensen_shannon]
    finite = [r for r in ratios if math.isfinite(r)]
    severity = max(finite) if finite else 0.0
    drifted = severity >= 1.0 and math.isfinite(pvalue) and pvalue < th.alpha
    return DriftResult(feature, p, d, pvalue, w, j, severity, drifted)


def rank_drift(
    reference: Mapping[str, npt.ArrayLike],
    current: Mapping[str, npt.ArrayLike],
    thresholds: DriftThresholds | None = None,
) -> list[DriftResult]:
    """Drift of every feature present in both windows, most severe first."""
    shared = sorted(set(reference) & set(current))
    results = [drift(f, reference[f], current[f], thresholds) for f in shared]
    return sorted(results, key=lambda r: (-r.severity, r.feature))
