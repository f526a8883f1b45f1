"""Turning scores into alarms, kept apart from the detectors that produce the scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic

import numpy as np
import numpy.typing as npt

from failcast.detect.base import BaseDetector, FloatArray, State, X, as_timestamps
from failcast.detect.registry import restore


def quantile_threshold(train_scores: npt.ArrayLike, q: float = 0.999, floor: float = 0.0) -> float:
    """A threshold set on training scores: their `q` quantile, never below `floor`.

    >>> quantile_threshold([0.1, 0.2, 0.3, 0.4], q=0.5)
    0.25
    >>> quantile_threshold([0.1, 0.2], q=0.5, floor=0.3)
    0.3
    """
    s = np.asarray(train_scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    if not 0.0 < q < 1.0:
        raise ValueError("q must be within (0, 1)")
    if len(s) == 0:
        return max(floor, 0.5)
    return float(max(np.quantile(s, q), floor))


@dataclass(frozen=True)
class Alarm:
    """One thresholded point."""

    score: float
    alarm: bool


class Thresholded(Generic[X]):
    """Wraps a detector: an alarm when the score reaches `threshold`, at most once per `cooldown`.

    After an alarm the next `cooldown` points cannot raise another, so one incident pages once.
    """

    def __init__(
        self, detector: BaseDetector[X], threshold: float = 0.5, cooldown: int = 0
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be within [0, 1]")
        self.detector = detector
        self.threshold = threshold
        self.cooldown = cooldown
        self._quiet = 0

    def update(self, x: X, t: int | None = None) -> Alarm:
        score = self.detector.update(x, t)
        if self._quiet > 0:
            self._quiet -= 1
            return Alarm(score, False)
        fired = score >= self.threshold
        if fired:
            self._quiet = self.cooldown
        return Alarm(score, fired)

    def alarms(
        self, values: npt.ArrayLike, timestamps: npt.ArrayLike | None = None
    ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """(scores, alarms) over a series, streamed point by point."""
        rows = self.detector._rows(values)
        ts = as_timestamps(timestamps, len(rows))
        out = [self.update(x, t) for x, t in zip(rows, ts, strict=True)]
        return (
            np.array([a.score for a in out], dtype=np.float64),
            np.array([a.alarm for a in out], dtype=bool),
        )

    def state_dict(self) -> State:
        return {
            "detector": self.detector.state_dict(),
            "threshold": self.threshold,
            "cooldown": self.cooldown,
            "quiet": self._quiet,
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Thresholded[Any]:
        detector: BaseDetector[Any] = restore(data["detector"])
        wrapper = cls(detector, float(data["threshold"]), int(data["cooldown"]))
        wrapper._quiet = int(data["quiet"])
        return wrapper
