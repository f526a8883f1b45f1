"""The state the default detector keeps per metric column, and how a point is judged against
it: the per-column status (warming up, constant, missing, scored), the standardised units of
a surprise, and the core that advances the compiled kernel (`_kernel`) over a batch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from failcast.detect import _kernel
from failcast.detect.base import FloatArray, State
from failcast.detect.seasonal import _BUCKETS, season_buckets
from failcast.detect.tail import ALARM_SURPRISE

IntArray = npt.NDArray[np.int64]


WARMING_UP = "warming_up"


CONSTANT = "constant"


MISSING = "missing"


SCORED = "scored"


STATUSES = {
    _kernel.SCORED: SCORED,
    _kernel.WARMING_UP: WARMING_UP,
    _kernel.CONSTANT: CONSTANT,
    _kernel.MISSING: MISSING,
}


# Why a point has no score, for people: keyed by status.
REASONS = {
    WARMING_UP: "warming up: not enough history to judge a value against",
    CONSTANT: "constant so far, or varying for too short a time: no spread to judge against",
    MISSING: "missing value",
}


def units(s: FloatArray) -> FloatArray:
    """Surprises as scores in [0, 1), NaN kept (`tail.unit` over an array).

    >>> units(np.array([0.0, ALARM_SURPRISE, np.nan])).tolist()
    [0.0, 0.5, nan]
    """
    return s / (s + ALARM_SURPRISE)


@dataclass(frozen=True)
class Assessments:
    """Verdicts on a block of points (or rows): the anomaly score and the level-shift score,
    NaN where there is none, and each point's status (`STATUSES`) that explains a NaN.

    For a metric vector, `metric_scores` and `metric_status` give each column's own verdict
    and `surprise` each column's surprise, which orders the `drivers` of a row."""

    score: FloatArray
    change: FloatArray
    status: list[str]
    metric_scores: FloatArray | None = None
    metric_status: npt.NDArray[np.int8] | None = None
    surprise: FloatArray | None = None

    def drivers(self, row: int, limit: int = 3) -> list[int]:
        """Columns that drive a row's score, most surprising first (scored ones only)."""
        if self.surprise is None:
            return []
        s = self.surprise[row]
        order = np.argsort(-np.nan_to_num(s, nan=-1.0), kind="stable")
        return [int(j) for j in order[:limit] if s[j] == s[j]]


def reason_of(status: str) -> str | None:
    return REASONS.get(status)


class SurpriseCore:
    """The state arrays of k metrics and one call into the kernel."""

    _ARRAYS: ClassVar[tuple[str, ...]] = (
        "count",
        "level",
        "dev",
        "seen",
        "varied",
        "recent",
        "filled",
        "pos",
        "recent_sum",
        "mean",
        "var",
        "lo",
        "hi",
        "quiet",
        "alarmed",
        "slow_count",
        "slow_level",
        "slow_dev",
        "fast",
        "cvar",
    )
    _FILL: ClassVar[dict[str, float]] = {
        "lo": math.inf,
        "hi": -math.inf,
    }

    def __init__(self, p: dict[str, Any], k: int) -> None:
        self.p = p
        size = _BUCKETS[p["season"]] + 1
        self.k = k
        self.count = np.zeros((size, k), dtype=np.int64)
        self.level = np.zeros((size, k))
        self.dev = np.zeros((size, k))
        self.seen = np.zeros(k, dtype=np.int64)
        self.varied = np.zeros(k, dtype=np.int64)
        self.recent = np.zeros((p["short"], k))
        self.filled = np.zeros(k, dtype=np.int64)
        self.pos = np.zeros(k, dtype=np.int64)
        self.recent_sum = np.zeros(k)
        self.mean = np.zeros(k)
        self.var = np.zeros(k)
        self.lo = np.full(k, math.inf)
        self.hi = np.full(k, -math.inf)
        self.quiet = np.zeros(k, dtype=np.int64)
        self.alarmed = np.zeros(k)
        self.slow_count = np.zeros((size, k), dtype=np.int64)
        self.slow_level = np.zeros((size, k))
        self.slow_dev = np.zeros((size, k))
        self.fast = np.full(k, math.nan)
        self.cvar = np.zeros(k)
        self.fast_alpha = 2.0 / (p["change_window"] + 1.0)
        # Spread of an exponentially weighted mean of unit-variance noise.
        self.fast_spread = math.sqrt(self.fast_alpha / (2.0 - self.fast_alpha))

    def run(
        self, values: FloatArray, timestamps: IntArray | None
    ) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int8]]:
        """(surprise, held surprise, change surprise, status) of each value, state advanced."""
        n = values.shape[0]
        p = self.p
        out_s = np.empty((n, self.k))
        out_h = np.empty((n, self.k))
        out_c = np.empty((n, self.k))
        out_st = np.empty((n, self.k), dtype=np.int8)
        _kernel.advance(
            np.ascontiguousarray(values, dtype=np.float64),
            season_buckets(p["season"], timestamps, n),
            self.count.shape[0] - 1,
            float(p["alpha"]),
            float(p["clip"]),
            int(p["short"]),
            int(p["history"]),
            int(p["warmup"]),
            float(p["tolerance"]),
            int(p["range_history"]),
            float(p["range_gate"]),
            int(p["hold"]),
            float(p["rearm"]),
            float(p["min_std"]),
            self.fast_alpha,
            self.fast_spread,
            float(p["change_alpha"]),
            self.count,
            self.level,
            self.dev,
            self.seen,
            self.varied,
            self.recent,
            self.filled,
            self.pos,
            self.recent_sum,
            self.mean,
            self.var,
            self.lo,
            self.hi,
            self.quiet,
            self.alarmed,
            self.slow_count,
            self.slow_level,
            self.slow_dev,
            self.fast,
            self.cvar,
            out_s,
            out_h,
            out_c,
            out_st,
        )
        return out_s, out_h, out_c, out_st

    def state(self) -> State:
        out: State = {"k": self.k}
        for name in self._ARRAYS:
            values = getattr(self, name).ravel().tolist()
            # JSON has neither infinities nor NaN: None stands for the initial value.
            out[name] = [
                v if not isinstance(v, float) or math.isfinite(v) else None for v in values
            ]
        return out

    @classmethod
    def restore(cls, p: dict[str, Any], state: State) -> SurpriseCore:
        core = cls(p, int(state["k"]))
        for name in cls._ARRAYS:
            arr = getattr(core, name)
            fill = cls._FILL.get(name, math.nan)
            values = [fill if v is None else v for v in state[name]]
            arr[...] = np.asarray(values, dtype=arr.dtype).reshape(arr.shape)
        return core

    def copy(self) -> SurpriseCore:
        return SurpriseCore.restore(self.p, self.state())


def row_status(codes: npt.NDArray[np.int8]) -> str:
    """A row is scored when one of its metrics is; otherwise it says why none is."""
    present = set(codes.tolist())
    if _kernel.SCORED in present:
        return SCORED
    if present == {_kernel.MISSING}:
        return MISSING
    if _kernel.WARMING_UP in present:
        return WARMING_UP
    return CONSTANT
