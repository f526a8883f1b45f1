"""The default detector: how surprising each point is, as a tail probability with no cap.

For each point three pieces of evidence are judged against the series' own past:

- **the recent level of strangeness**: each value's distance from the usual level of its hour
  (a robust seasonal baseline, `SeasonalBaseline`) is turned into a two-sided normal surprise,
  compressed beyond ten decades so one wild value cannot swamp the rest; the mean of the
  last `short` of these is then compared with the history of such means (an exponentially
  weighted mean and variance over about `history` points), and its upper normal tail is the
  surprise. A noisy metric keeps its inner surprises high all the time; what counts is a run
  of them higher than that metric usually produces (the idea behind HTM's anomaly
  likelihood).
- **the range**: a value beyond the lowest or highest value seen so far is surprising in
  proportion to how far beyond it lies, in units of `tolerance` of that range: at exactly
  `tolerance` it reaches the alarm level, and it keeps growing beyond.
- **the level**: a fast mean of the deseasonalised values against a slow, outlier-resistant
  reference level, in units of the fast mean's own usual spread (`change`). Its reference
  moves by at most a few standard deviations per thousand points, so a level shift keeps
  this score raised for as long as it lasts, while the point score above has already settled.

The point surprise is the larger of the first two, corrected for choosing between two. After
a point reaches the alarm level, the next `hold` points are held below it (compressed towards
90% of the alarm level, order kept), so one incident raises one alarm while its later points
still rank above ordinary ones.

No score is given while the detector warms up (`warmup` points), nor while the series has been
constant: there is nothing to judge a value against. Missing values are not learned.

`surprise_vector` runs the same detector on every column of a metric vector (each column gets
exactly the scores it would get alone) and combines the columns' surprises per row with the
larger of two combinations, corrected for choosing between them: Bonferroni (the most
surprising metric, corrected for having looked at m of them, so one metric's strong signal is
not diluted by many quiet ones) and Fisher (the sum of all their surprises against a
chi-square law, which hears several metrics that are each a little unusual). Metrics that
are constant so far, warming up or missing in a row take no part in it. The row is held after
an alarm like a single metric. `drivers` ranks the scored metrics of a row by their surprise.

The arithmetic lives in `_kernel` (compiled); the classes here hold its state.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from failcast.detect import _kernel
from failcast.detect.base import (
    BaseDetector,
    FloatArray,
    MultiMetricDetector,
    SingleMetricDetector,
    State,
    Vector,
    X,
    as_timestamps,
)
from failcast.detect.registry import register
from failcast.detect.seasonal import _BUCKETS
from failcast.detect.surprise_core import (
    STATUSES,
    Assessments,
    IntArray,
    SurpriseCore,
    row_status,
    units,
)


class _SurpriseBase(BaseDetector[X]):
    """Parameters and state handling shared by the single-metric and the vector detector."""

    def __init__(
        self,
        season: str = "hour_of_day",
        alpha: float = 0.05,
        short: int = 5,
        history: int = 8000,
        warmup: int = 150,
        tolerance: float = 0.02,
        range_history: int = 1000,
        range_gate: float = 0.0,
        hold: int = 100,
        rearm: float = 3.0,
        min_std: float = 0.01,
        change_window: int = 10,
        change_alpha: float = 0.005,
        clip: float = 3.0,
    ) -> None:
        if season not in _BUCKETS:
            raise ValueError(f"season must be one of {sorted(_BUCKETS)}, got {season!r}")
        if not 0.0 < alpha <= 1.0:
            raise ValueError("alpha must be within (0, 1]")
        if short < 1 or history < 2 or warmup < 1:
            raise ValueError("need short >= 1, history >= 2 and warmup >= 1")
        if not tolerance > 0.0:
            raise ValueError("tolerance must be > 0")
        if range_history < 1:
            raise ValueError("range_history must be >= 1")
        if hold < 0:
            raise ValueError("hold must be >= 0")
        if not rearm >= 1.0:
            raise ValueError("rearm must be >= 1")
        if not 0.0 < change_alpha < 1.0 or change_window < 1:
            raise ValueError("need change_window >= 1 and change_alpha within (0, 1)")
        self._params: dict[str, Any] = {
            "season": season,
            "alpha": alpha,
            "short": short,
            "history": history,
            "warmup": warmup,
            "tolerance": tolerance,
            "range_history": range_history,
            "range_gate": range_gate,
            "hold": hold,
            "rearm": rearm,
            "min_std": min_std,
            "change_window": change_window,
            "change_alpha": change_alpha,
            "clip": clip,
        }
        self._core: SurpriseCore | None = None
        # Rows still held after an alarm, and that alarm's surprise (vectors only).
        self._row_quiet = np.zeros(1, dtype=np.int64)
        self._row_alarmed = np.zeros(1)

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def _core_for(self, k: int) -> SurpriseCore:
        if self._core is None:
            self._core = SurpriseCore(self._params, k)
        elif self._core.k != k:
            raise ValueError(f"expected {self._core.k} metrics, got {k}")
        return self._core

    def _get_state(self) -> State:
        return {"core": None if self._core is None else self._core.state()}

    def _set_state(self, state: State) -> None:
        core = state["core"]
        self._core = None if core is None else SurpriseCore.restore(self._params, core)

    def _block(
        self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None
    ) -> tuple[FloatArray, IntArray | None]:
        rows = np.asarray(values, dtype=np.float64)
        if rows.ndim == 1:
            rows = rows[:, None] if not self.multivariate else rows[None, :]
        if rows.ndim != 2:
            raise ValueError(f"expected rows x metrics, got shape {rows.shape}")
        if not self.multivariate and rows.shape[1] != 1:
            raise ValueError(
                f"detector {self.name!r} takes one metric, got shape {rows.shape}; "
                "use 'surprise_vector' for several"
            )
        if timestamps is None:
            return rows, None
        ts = np.asarray(as_timestamps(timestamps, rows.shape[0]), dtype=np.int64)
        return rows, ts

    def _one(self, x: X, t: int | None) -> tuple[FloatArray, IntArray | None]:
        rows = np.asarray(x, dtype=np.float64).reshape(1, -1)
        return rows, None if t is None else np.array([t], dtype=np.int64)

    def assess_many(
        self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None = None
    ) -> Assessments:
        """Score a block of points (or rows) in order, learning each, with their details."""
        raise NotImplementedError

    def score(self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None = None) -> FloatArray:
        return self.assess_many(values, timestamps).score

    def update(self, x: X, t: int | None = None) -> float:
        rows, ts = self._one(x, t)
        return float(self.assess_many(rows, ts).score[0])

    def score_one(self, x: X, t: int | None = None) -> float:
        if self._core is None:
            return math.nan
        probe = type(self)(**self._params)
        probe._core = self._core.copy()
        return probe.update(x, t)


@register
class Surprise(_SurpriseBase[float], SingleMetricDetector):
    """Anomaly and level-shift scores of one metric as uncapped tail probabilities."""

    name = "surprise"

    def assess_many(
        self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None = None
    ) -> Assessments:
        rows, ts = self._block(values, timestamps)
        _, held, change, status = self._core_for(1).run(rows, ts)
        return Assessments(
            score=units(held[:, 0]),
            change=units(change[:, 0]),
            status=[STATUSES[int(c)] for c in status[:, 0]],
        )


@register
class SurpriseVector(_SurpriseBase[Vector], MultiMetricDetector):
    """`surprise` on every column of a metric vector, combined per row (see the module doc)."""

    name = "surprise_vector"

    def _get_state(self) -> State:
        return {
            **super()._get_state(),
            "row_quiet": int(self._row_quiet[0]),
            "row_alarmed": float(self._row_alarmed[0]),
        }

    def _set_state(self, state: State) -> None:
        super()._set_state(state)
        self._row_quiet = np.array([int(state["row_quiet"])], dtype=np.int64)
        self._row_alarmed = np.array([float(state["row_alarmed"])])

    def score_one(self, x: Vector, t: int | None = None) -> float:
        if self._core is None:
            return math.nan
        probe = type(self)(**self._params)
        probe._core = self._core.copy()
        probe._row_quiet = self._row_quiet.copy()
        probe._row_alarmed = self._row_alarmed.copy()
        return probe.update(x, t)

    def assess_many(
        self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None = None
    ) -> Assessments:
        rows, ts = self._block(values, timestamps)
        surprise, held, change, status = self._core_for(rows.shape[1]).run(rows, ts)
        row = np.empty(rows.shape[0])
        row_change = np.empty(rows.shape[0])
        _kernel.combine(
            surprise,
            change,
            int(self._params["hold"]),
            float(self._params["rearm"]),
            self._row_quiet,
            self._row_alarmed,
            row,
            row_change,
        )
        return Assessments(
            score=units(row),
            change=units(row_change),
            status=[row_status(s) for s in status],
            metric_scores=units(held),
            metric_status=status,
            surprise=surprise,
        )
