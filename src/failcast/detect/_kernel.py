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
def _keep_top(top: np.ndarray, v: float) -> None:
    """Keep `top` (ascending, -inf where empty) the largest values seen, with `v`."""
    if not v > top[0]:
        return
    i = 0
    while i + 1 < len(top) and top[i + 1] < v:
        top[i] = top[i + 1]
        i += 1
    top[i] = v


@njit(cache=True)
def _record(v: float, top: np.ndarray, seen: int) -> float:
    """Surprise of `v` beyond the largest value seen: an exponential tail fitted to the
    values above the k-th largest, P(X >= v) = k / (n + 1) * exp(-(v - u) / beta)."""
    k = 0
    total = 0.0
    for t in top:
        if t > -math.inf:
            k += 1
            total += t
    if k < 3:
        return 0.0
    u = float(top[len(top) - k])
    beta = total / k - u
    if not beta > 0.0:
        return 0.0
    return math.log10((seen + 1.0) / k) + (v - u) / (beta * _LN10)


@njit(cache=True)
def _hold(
    s: float, j: int, hold: int, rearm: float, quiet: np.ndarray, alarmed: np.ndarray
) -> float:
    """The surprise to show: after an alarm, the next `hold` points are held below the alarm
    level (order kept), unless one is `rearm` times as surprising as the alarm was."""
    if quiet[j] > 0:
        if s >= ALARM_SURPRISE and s >= rearm * alarmed[j]:
            quiet[j] = hold
            alarmed[j] = s
            return s
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
    tail_k: int,
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
    recent: np.ndarray,  # (short, k) raw surprises, a ring
    filled: np.ndarray,  # (k,) int64
    pos: np.ndarray,  # (k,) int64
    recent_sum: np.ndarray,  # (k,)
    mean: np.ndarray,  # (k,)
    var: np.ndarray,  # (k,)
    lo: np.ndarray,  # (k,)
    hi: np.ndarray,  # (k,)
    top: np.ndarray,  # (tail_k or 1, k) the largest values seen, ascending
    bottom: np.ndarray,  # (tail_k or 1, k) the largest negated values seen, ascending
    quiet: np.ndarray,  # (k,) int64, points still held after an alarm
    alarmed: np.ndarray,  # (k,) the surprise of that alarm
    ref: np.ndarray,  # (k,)
    fast: np.ndarray,  # (k,)
    cvar: np.ndarray,  # (k,)
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
            sigma_all = _sigma(dev[overall, j], level[overall, j])
            offset = 0.0
            if b != overall and count[b, j] >= _MIN_COUNT:
                offset = level[b, j] - level[overall, j]
            dv = v - offset
            # The fast level moves by at most `clip` sigmas per step: one spike is not a shift.
            f = dv
            if fast[j] == fast[j]:
                lim = clip * sigma_all
                f = fast[j] + fast_alpha * min(max(dv - fast[j], -lim), lim)

            if seen[j] < warmup:
                status = WARMING_UP
            elif hi[j] <= lo[j]:
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
                    if tail_k > 0:
                        s_range = _record(v, top[:, j], seen[j]) if v > hi[j] else 0.0
                        if v < lo[j]:
                            s_range = _record(-v, bottom[:, j], seen[j])
                    else:
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
                shown = _hold(s, j, hold, rearm, quiet, alarmed)
                spread = max(math.sqrt(cvar[j]), sigma_all * fast_spread, 1e-12)
                out_surprise[r, j] = s
                out_held[r, j] = shown
                out_change[r, j] = normal_two_sided((f - ref[j]) / spread)
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
            if tail_k > 0:
                _keep_top(top[:, j], v)
                _keep_top(bottom[:, j], -v)
            if ref[j] != ref[j]:
                ref[j] = dv
            else:
                a = max(change_alpha, 1.0 / seen[j])
                bound = clip * sigma_all
                ref[j] += a * min(max(dv - ref[j], -bound), bound)
                gap = f - ref[j]
                spread = math.sqrt(cvar[j])
                if spread > 0.0:
                    gap = min(max(gap, -clip * spread), clip * spread)
                cvar[j] += a * (gap * gap - cvar[j])
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
        out_row[r] = _hold(row, 0, hold, rearm, quiet, alarmed)
        c = top_change - math.log10(m)
        out_change[r] = c if c > 0.0 else 0.0
