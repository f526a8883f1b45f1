"""The `surprise` detector's arithmetic, compiled: one pass over a block of rows, k metrics wide.

Everything here is the per-point recursion described in `failcast.detect.anomaly`; the
detector classes only hold the state arrays and call `advance`. It is compiled with numba
because it runs for every stored sample: interpreted, the same loop is some thirty times
slower. Compiled functions are cached on disk next to this file.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SCORED = 0
WARMING_UP = 1
CONSTANT = 2
MISSING = 3

ALARM_SURPRISE = 5.0
HOLD_CAP = 0.9 * ALARM_SURPRISE
_MIN_COUNT = 5
_MIN_SCALE = 1e-9
_ABSDEV_TO_SIGMA = math.sqrt(math.pi / 2.0)
_LN10 = math.log(10.0)
_SQRT2 = math.sqrt(2.0)
_LOG10_2 = math.log10(2.0)
_LOG10_SQRT_2PI = math.log10(math.sqrt(2.0 * math.pi))


@njit(cache=True)
def normal_upper(z: float) -> float:
    """-log10 P(Z >= z) for a standard normal Z (0 for z <= 0)."""
    if not z > 0.0:
        return 0.0
    if z < 8.0:
        return -math.log10(0.5 * math.erfc(z / _SQRT2))
    return (
        z * z / (2.0 * _LN10)
        + math.log10(z)
        + _LOG10_SQRT_2PI
        - math.log10(1.0 - 1.0 / (z * z) + 3.0 / z**4)
    )


@njit(cache=True)
def normal_two_sided(z: float) -> float:
    """-log10 P(|Z| >= |z|)."""
    s = normal_upper(abs(z)) - _LOG10_2
    return s if s > 0.0 else 0.0


@njit(cache=True)
def fisher(s: np.ndarray, m: int) -> float:
    """Fisher's combination of the first m surprises (see `tail.fisher`)."""
    total = 0.0
    for i in range(m):
        total += s[i]
    y = _LN10 * total
    if m == 0 or y <= 0.0:
        return 0.0
    ly = math.log(y)
    top = -math.inf
    for i in range(m):
        v = i * ly - math.lgamma(i + 1.0)
        if v > top:
            top = v
    acc = 0.0
    for i in range(m):
        acc += math.exp(i * ly - math.lgamma(i + 1.0) - top)
    out = (y - top - math.log(acc)) / _LN10
    return out if out > 0.0 else 0.0


@njit(cache=True)
def _sigma(dev: float, level: float) -> float:
    return max(dev * _ABSDEV_TO_SIGMA, 1e-6 * abs(level), _MIN_SCALE)


@njit(cache=True)
def _learn_bucket(
    count: np.ndarray,
    level: np.ndarray,
    dev: np.ndarray,
    i: int,
    j: int,
    v: float,
    alpha: float,
    clip: float,
) -> None:
    """One Huber-style step of a seasonal bucket's level and mean absolute deviation."""
    c = count[i, j] + 1
    count[i, j] = c
    if c == 1:
        level[i, j] = v
        dev[i, j] = 0.0
        return
    a = max(alpha, 1.0 / c)
    step = v - level[i, j]
    if c > _MIN_COUNT:
        bound = clip * _sigma(dev[i, j], level[i, j])
        step = min(max(step, -bound), bound)
    level[i, j] += a * step
    dev[i, j] += a * (abs(step) - dev[i, j])


@njit(cache=True)
def _hold(
    s: float,
    shifted: bool,
    j: int,
    hold: int,
    rearm: float,
    quiet: np.ndarray,
    alarmed: np.ndarray,
) -> float:
    """The surprise to show: after an alarm, the next `hold` points are held below the alarm
    level (order kept), unless one is `rearm` times as surprising as the alarm was. While the
    level stays `shifted`, the hold does not run out: the level-shift score tells that story."""
    if quiet[j] > 0:
        if s >= ALARM_SURPRISE and s >= rearm * alarmed[j]:
            quiet[j] = hold
            alarmed[j] = s
            return s
        if not shifted:
            quiet[j] -= 1
        return HOLD_CAP * (1.0 - math.exp(-s / HOLD_CAP))
    if s >= ALARM_SURPRISE:
        quiet[j] = hold
        alarmed[j] = s
    return s


@njit(cache=True)
def advance(
    values: np.ndarray,  # (n, k) float64, NaN = missing
    buckets: np.ndarray,  # (n,) int64, the season bucket of each row
    overall: int,  # index of the overall baseline in count/level/dev
    alpha: float,
    clip: float,
    short: int,
    history: int,
    warmup: int,
    tolerance: float,
    range_history: int,
    range_gate: float,
    hold: int,
    rearm: float,
    min_std: float,
    fast_alpha: float,
    fast_spread: float,
    change_alpha: float,
    count: np.ndarray,  # (buckets + 1, k) int64
    level: np.ndarray,  # (buckets + 1, k)
    dev: np.ndarray,  # (buckets + 1, k)
    seen: np.ndarray,  # (k,) int64, values learned
    varied: np.ndarray,  # (k,) int64, values learned since the metric first varied
    recent: np.ndarray,  # (short, k) raw surprises, a ring
    filled: np.ndarray,  # (k,) int64
    pos: np.ndarray,  # (k,) int64
    recent_sum: np.ndarray,  # (k,)
    mean: np.ndarray,  # (k,)
    var: np.ndarray,  # (k,)
    lo: np.ndarray,  # (k,)
    hi: np.ndarray,  # (k,)
    quiet: np.ndarray,  # (k,) int64, points still held after an alarm
    alarmed: np.ndarray,  # (k,) the surprise of that alarm
    slow_count: np.ndarray,  # (buckets + 1, k) int64, the slow seasonal reference
    slow_level: np.ndarray,  # (buckets + 1, k)
    slow_dev: np.ndarray,  # (buckets + 1, k)
    fast: np.ndarray,  # (k,) fast mean of the residuals from the slow reference
    cvar: np.ndarray,  # (k,) its usual spread, squared
    out_surprise: np.ndarray,  # (n, k) before any hold
    out_held: np.ndarray,  # (n, k) after the hold
    out_change: np.ndarray,  # (n, k)
    out_status: np.ndarray,  # (n, k) int8
) -> None:
    """Score every row of `values` against the state, then learn it, metric by metric."""
    n, k = values.shape
    for r in range(n):
        b = buckets[r]
        for j in range(k):
            v = values[r, j]
            if v != v:
                out_status[r, j] = MISSING
                out_surprise[r, j] = math.nan
                out_held[r, j] = math.nan
                out_change[r, j] = math.nan
                continue
            # Seasonal z-score, before learning.
            use = b if count[b, j] >= _MIN_COUNT else overall
            raw = 0.0
            if count[use, j] >= _MIN_COUNT:
                z = (v - level[use, j]) / _sigma(dev[use, j], level[use, j])
                raw = normal_two_sided(z) / 10.0
                if raw > 1.0:
                    raw = 1.0 + 0.01 * math.log1p(raw - 1.0)
            # Mean of the last `short` raw surprises, this one included.
            total = recent_sum[j] + raw
            cnt = filled[j] + 1
            if cnt > short:
                total -= recent[pos[j], j]
                cnt = short
            average = total / cnt
            # The level-shift statistic: a fast mean of the residuals from a slow seasonal
            # reference, which moves too slowly to absorb a shift while it lasts.
            slow = b if slow_count[b, j] >= _MIN_COUNT else overall
            sigma_slow = _sigma(slow_dev[slow, j], slow_level[slow, j])
            resid = v - slow_level[slow, j] if slow_count[slow, j] > 0 else 0.0
            # The fast mean moves by at most `clip` sigmas per step: one spike is not a shift.
            f = resid
            if fast[j] == fast[j]:
                lim = clip * sigma_slow
                f = fast[j] + fast_alpha * min(max(resid - fast[j], -lim), lim)

            if seen[j] < warmup:
                status = WARMING_UP
            elif varied[j] + 1 < warmup:
                # Constant so far, or varying for too short a time to know its spread.
                status = CONSTANT
            else:
                status = SCORED
            out_status[r, j] = status
            if status == SCORED:
                std = max(math.sqrt(var[j]), min_std)
                zl = (average - mean[j]) / std
                s_level = normal_upper(zl)
                beyond = max(v - hi[j], lo[j] - v)
                s_range = 0.0
                if beyond > 0.0 and raw >= range_gate:
                    s_range = ALARM_SURPRISE * beyond / (tolerance * (hi[j] - lo[j]))
                    # Early on, the range seen so far is a poor guide: weigh it by how much
                    # history it rests on (in decades, up to `range_history` points) and by
                    # the share of the season's hours it has seen.
                    weight = min(1.0, math.log10(seen[j] + 1.0) / math.log10(range_history + 1.0))
                    if overall > 1:
                        covered = 0
                        for i in range(overall):
                            if count[i, j] >= _MIN_COUNT:
                                covered += 1
                        weight *= covered / overall
                    s_range *= weight
                s = max(s_level, s_range) - _LOG10_2
                if s < 0.0:
                    s = 0.0
                spread = max(math.sqrt(cvar[j]), sigma_slow * fast_spread, 1e-12)
                change = normal_two_sided(f / spread)
                shown = _hold(s, change >= ALARM_SURPRISE, j, hold, rearm, quiet, alarmed)
                out_surprise[r, j] = s
                out_held[r, j] = shown
                out_change[r, j] = change
            else:
                out_surprise[r, j] = math.nan
                out_held[r, j] = math.nan
                out_change[r, j] = math.nan

            # Learn: the seasonal buckets (Huber-style steps), the raw ring, the history of
            # averages, the range and the slow reference level.
            _learn_bucket(count, level, dev, b, j, v, alpha, clip)
            if b != overall:
                _learn_bucket(count, level, dev, overall, j, v, alpha, clip)
            if filled[j] < short:
                recent[filled[j], j] = raw
                filled[j] += 1
                recent_sum[j] += raw
            else:
                recent_sum[j] += raw - recent[pos[j], j]
                recent[pos[j], j] = raw
                pos[j] = (pos[j] + 1) % short
            seen[j] += 1
            w = max(1.0 / history, 1.0 / seen[j])
            d = average - mean[j]
            mean[j] += w * d
            var[j] = (1.0 - w) * (var[j] + w * d * d)
            if v < lo[j]:
                lo[j] = v
            if v > hi[j]:
                hi[j] = v
            if hi[j] > lo[j]:
                varied[j] += 1
            _learn_bucket(slow_count, slow_level, slow_dev, b, j, v, change_alpha, clip)
            if b != overall:
                _learn_bucket(slow_count, slow_level, slow_dev, overall, j, v, change_alpha, clip)
            # The fast mean's own spread (autocorrelated noise widens it), learned only from
            # points that do not look like a shift, so a lasting shift cannot widen it.
            spread = math.sqrt(cvar[j])
            if spread == 0.0 or abs(f) <= clip * spread:
                a = max(change_alpha, 1.0 / seen[j])
                cvar[j] += a * (f * f - cvar[j])
            fast[j] = f


@njit(cache=True)
def combine(
    surprise: np.ndarray,  # (n, k) unheld, NaN where not scored
    change: np.ndarray,  # (n, k)
    hold: int,
    rearm: float,
    quiet: np.ndarray,  # (1,) int64: rows still held after an alarm
    alarmed: np.ndarray,  # (1,) the surprise of that alarm
    out_row: np.ndarray,  # (n,) NaN where no metric is scored
    out_change: np.ndarray,  # (n,)
) -> None:
    """One surprise per row: Bonferroni or Fisher over its scored metrics, then the hold."""
    n, k = surprise.shape
    active = np.empty(k)
    for r in range(n):
        m = 0
        top = 0.0
        top_change = 0.0
        for j in range(k):
            s = surprise[r, j]
            if s == s:
                active[m] = s
                m += 1
                if s > top:
                    top = s
                if change[r, j] > top_change:
                    top_change = change[r, j]
        if m == 0:
            out_row[r] = math.nan
            out_change[r] = math.nan
            continue
        if m == 1:
            row = top
        else:
            bonf = top - math.log10(m)
            if bonf < 0.0:
                bonf = 0.0
            row = max(bonf, fisher(active, m)) - _LOG10_2
            if row < 0.0:
                row = 0.0
        out_row[r] = _hold(row, top_change >= ALARM_SURPRISE, 0, hold, rearm, quiet, alarmed)
        c = top_change - math.log10(m)
        out_change[r] = c if c > 0.0 else 0.0
