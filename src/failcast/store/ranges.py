"""What a range read asks for and how its answer is cut, shared by the embedded store
(store/samples.py) and the metrics engines (store/remote.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

Pairs = list[tuple[int, float]]  # (ts, value), oldest first


class Aggregation(StrEnum):
    avg = "avg"
    min = "min"
    max = "max"
    sum = "sum"
    count_ = "count"
    last = "last"


@dataclass(frozen=True, slots=True)
class RangeRead:
    """The points of `series_ids` in [start_ms, end_ms): raw, or with a step one point per
    bucket aggregated by `agg` and stamped with the bucket's start. At most `limit` points in
    all (the lowest series ids first), and at most `per_series` (the first ones) of each."""

    series_ids: Sequence[int]
    start_ms: int
    end_ms: int
    step_ms: int | None
    agg: Aggregation
    limit: int
    per_series: int | None = None

    def of(self, series_ids: Sequence[int]) -> RangeRead:
        """The same read of other series."""
        return replace(self, series_ids=series_ids)

    def cut(self, found: dict[int, Pairs]) -> dict[int, Pairs]:
        """`found` held to the read's limits.

        >>> read = RangeRead([1, 2], 0, 10, step_ms=None, agg=Aggregation.avg, limit=3)
        >>> read.cut({2: [(1, 1.0), (2, 2.0)], 1: [(1, 5.0), (2, 6.0)]})
        {2: [(1, 1.0)], 1: [(1, 5.0), (2, 6.0)]}
        """
        budget = self.limit
        for series_id in sorted(found):
            keep = max(budget, 0)
            if self.per_series is not None:
                keep = min(keep, self.per_series)
            found[series_id] = found[series_id][:keep]
            budget -= len(found[series_id])
        return found
