"""Tail probabilities on one scale with no cap: how surprising a statistic is, in decades.

A detector states its evidence as a surprise `s = -log10(p)`, where `p` is the probability of
seeing something at least as extreme under normal behaviour. Surprises have no upper bound,
so two different degrees of surprise never share a value. For storage, charts and alert rules
a surprise is mapped monotonically onto [0, 1) by `unit(s) = s / (s + ALARM_SURPRISE)`.

`ALARM_SURPRISE` = 5 (p = 1e-5) maps to 0.5, which is the documented alarm threshold
(`ALARM_THRESHOLD`): at one point every five minutes a calibrated detector passes it about
once in a year of normal behaviour, and at one point every ten seconds about once a fortnight.
"""

from __future__ import annotations

import math

ALARM_SURPRISE = 5.0
ALARM_THRESHOLD = 0.5

_LN10 = math.log(10.0)
_SQRT2 = math.sqrt(2.0)
_LOG10_SQRT_2PI = math.log10(math.sqrt(2.0 * math.pi))
_LOG10_2 = math.log10(2.0)


def unit(s: float) -> float:
    """A surprise (decades, >= 0) as a score in [0, 1); NaN stays NaN.

    The alarm surprise maps to 0.5:

    >>> unit(0.0), unit(ALARM_SURPRISE)
    (0.0, 0.5)
    """
    if s != s:
        return math.nan
    if s <= 0.0:
        return 0.0
    return s / (s + ALARM_SURPRISE)


def from_unit(score: float) -> float:
    """The surprise behind a score in [0, 1)."""
    if not score > 0.0:
        return 0.0
    if score >= 1.0:
        return math.inf
    return ALARM_SURPRISE * score / (1.0 - score)


def normal_upper(z: float) -> float:
    """-log10 P(Z >= z) for a standard normal Z, exact in the body and asymptotic in the tail."""
    if not z > -30.0:  # also NaN
        return 0.0
    if z < 8.0:
        return -math.log10(0.5 * math.erfc(z / _SQRT2))
    # Mills' ratio: P(Z >= z) = phi(z) / z * (1 - 1/z^2 + 3/z^4 - ...).
    return (
        z * z / (2.0 * _LN10)
        + math.log10(z)
        + _LOG10_SQRT_2PI
        - math.log10(1.0 - 1.0 / (z * z) + 3.0 / z**4)
    )


def normal_two_sided(z: float) -> float:
    """-log10 P(|Z| >= |z|)."""
    return max(0.0, normal_upper(abs(z)) - _LOG10_2)


def fisher(surprises: list[float]) -> float:
    """Fisher's combination of independent tail probabilities given as surprises: the surprise of
    sum(-2 ln p_i) under a chi-square law with 2m degrees of freedom (closed form for even
    degrees: P = e^-y * sum_{i<m} y^i / i!, with y = ln 10 * sum(s_i))."""
    m = len(surprises)
    if m == 0:
        return 0.0
    y = _LN10 * sum(surprises)
    if y <= 0.0:
        return 0.0
    # log of sum_{i<m} y^i / i!, summed from the largest term down for stability.
    logs = [i * math.log(y) - math.lgamma(i + 1.0) for i in range(m)]
    top = max(logs)
    log_sum = top + math.log(sum(math.exp(v - top) for v in logs))
    return max(0.0, (y - log_sum) / _LN10)


def bonferroni(surprises: list[float]) -> float:
    """The smallest of m tail probabilities, corrected for having looked at m of them.

    >>> round(bonferroni([3.0, 1.0]), 3)  # p = 1e-3, looked at twice
    2.699
    """
    if not surprises:
        return 0.0
    return max(0.0, max(surprises) - math.log10(len(surprises)))


def either(*surprises: float) -> float:
    """The larger of several surprises about the same point, corrected for the choice."""
    return max(0.0, max(surprises) - math.log10(len(surprises)))
