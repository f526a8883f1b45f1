"""The detector interface: score a point against the past, then learn it.

Every detector follows the same small contract, in the spirit of river:

- `score_one(x, t)` scores `x` against what was learned so far and changes nothing;
- `learn_one(x, t)` folds `x` into the state;
- `update(x, t)` does both (score first) and is what streaming code calls;
- `score(values, timestamps)` is `update` over a whole series, so batch and streaming agree;
- `state_dict()` returns plain JSON data and `from_state(data)` rebuilds the detector from it.

There are two kinds, as river separates its scalar anomaly detectors from its multivariate
estimators: a `SingleMetricDetector` takes `x` as one float, a `MultiMetricDetector` takes a
vector of metrics (a 1-d float array). Both share the batch `score(values, timestamps)`, so a
caller that takes either kind (`AnyDetector`) scores whole series and needs no per-point type.

Scores are in [0, 1]; 0 means "nothing unusual". `t` is an epoch-millisecond timestamp, used
by detectors with a calendar notion of season and ignored by the rest. A missing value (NaN)
scores 0 and is not learned.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Vector = Sequence[float] | FloatArray  # one row of metrics
State = dict[str, Any]
X = TypeVar("X")  # what one point is: a float, or a Vector

_SQRT2 = math.sqrt(2.0)


@runtime_checkable
class Detector(Protocol):
    """What every detector offers, whatever its input: batch scoring and saved state."""

    name: ClassVar[str]
    multivariate: ClassVar[bool]

    def score(
        self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None = None
    ) -> FloatArray: ...

    def fit(self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None = None) -> None: ...

    def state_dict(self) -> State: ...


@runtime_checkable
class SingleMetric(Detector, Protocol):
    """A detector of one metric: each point is a float."""

    def learn_one(self, x: float, t: int | None = None) -> None: ...

    def score_one(self, x: float, t: int | None = None) -> float: ...

    def update(self, x: float, t: int | None = None) -> float: ...


@runtime_checkable
class MultiMetric(Detector, Protocol):
    """A detector of a metric vector: each point is a row of floats, NaN where missing."""

    def learn_one(self, x: Vector, t: int | None = None) -> None: ...

    def score_one(self, x: Vector, t: int | None = None) -> float: ...

    def update(self, x: Vector, t: int | None = None) -> float: ...


def surprise(z: float) -> float:
    """Score in [0, 1] for a standardised deviation: -log10 of its two-sided tail / 10.

    |z| = 3 gives 0.26, 4.4 gives 0.5 and 6.5 or more gives 1, so one threshold means the
    same rarity for every detector that reports through this function.

    >>> round(surprise(3.0), 2), surprise(0.0), surprise(9.5)
    (0.26, 0.0, 1.0)
    """
    if not z > 0.0:  # also catches NaN
        return 0.0
    if z >= 9.0:
        return 1.0
    p = math.erfc(z / _SQRT2)
    return min(1.0, -math.log10(p) / 10.0)


def one_sided_surprise(z: float) -> float:
    """Like `surprise` for a statistic where only large positive values are unusual."""
    if not z > 0.0:
        return 0.0
    if z >= 9.0:
        return 1.0
    p = 0.5 * math.erfc(z / _SQRT2)
    return min(1.0, -math.log10(p) / 10.0)


def as_timestamps(timestamps: npt.ArrayLike | None, n: int) -> list[int | None]:
    if timestamps is None:
        return [None] * n
    ts = np.asarray(timestamps, dtype=np.int64)
    if ts.shape != (n,):
        raise ValueError(f"expected {n} timestamps, got shape {ts.shape}")
    return [int(v) for v in ts.tolist()]


class BaseDetector(ABC, Generic[X]):
    """Shared plumbing: batch scoring, fitting and (de)serialisation. Subclass one of its two
    kinds, `SingleMetricDetector` or `MultiMetricDetector`."""

    name: ClassVar[str] = ""
    multivariate: ClassVar[bool] = False

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Constructor arguments, as plain JSON data."""

    @abstractmethod
    def _get_state(self) -> State: ...

    @abstractmethod
    def _set_state(self, state: State) -> None: ...

    @abstractmethod
    def update(self, x: X, t: int | None = None) -> float:
        """Score `x` against the past, then learn it."""

    @abstractmethod
    def score_one(self, x: X, t: int | None = None) -> float:
        """Score `x` against the past without learning it."""

    def learn_one(self, x: X, t: int | None = None) -> None:
        """Learn `x` without using its score."""
        self.update(x, t)

    @abstractmethod
    def _rows(self, values: npt.ArrayLike) -> list[X]:
        """The points of a batch, in order."""

    def score(self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None = None) -> FloatArray:
        """Scores of a whole series, exactly as if streamed point by point through `update`."""
        rows = self._rows(values)
        ts = as_timestamps(timestamps, len(rows))
        step = self.update
        return np.array([step(x, t) for x, t in zip(rows, ts, strict=True)], dtype=np.float64)

    def fit(self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None = None) -> None:
        """Learn a whole series (training data) without keeping its scores."""
        self.score(values, timestamps)

    def state_dict(self) -> State:
        """Everything needed to continue later: {"name", "params", "state"}, JSON-serialisable."""
        return {"name": self.name, "params": self.params(), "state": self._get_state()}

    @classmethod
    def from_state(cls, data: State) -> Self:
        """Rebuild a detector saved with `state_dict`."""
        if data.get("name") != cls.name:
            raise ValueError(f"state is for detector {data.get('name')!r}, not {cls.name!r}")
        detector = cls(**data["params"])
        detector._set_state(data["state"])
        return detector


class SingleMetricDetector(BaseDetector[float]):
    """A detector of one metric; a batch is a 1-d series (or a single column)."""

    multivariate: ClassVar[bool] = False

    def _rows(self, values: npt.ArrayLike) -> list[float]:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(
                f"detector {self.name!r} takes one metric, got shape {arr.shape}; "
                "use 'per_metric' or 'mahalanobis' for several"
            )
        return list(arr.tolist())


class MultiMetricDetector(BaseDetector[Vector]):
    """A detector of a metric vector; a batch is rows x metrics (a 1-d series is one column)."""

    multivariate: ClassVar[bool] = True

    def _rows(self, values: npt.ArrayLike) -> list[Vector]:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"expected rows x metrics, got shape {arr.shape}")
        return list(arr)


# What a caller that takes either kind holds; narrow it with isinstance to feed single points.
AnyDetector = SingleMetricDetector | MultiMetricDetector


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN: store unset numbers as None."""
    return value if math.isfinite(value) else None


def none_to_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)
