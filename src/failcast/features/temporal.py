"""Calendar features from epoch-millisecond timestamps (UTC unless an offset is given)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from failcast.features._arrays import FloatArray, IntArray

MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000


def _local_ms(timestamps_ms: npt.ArrayLike, utc_offset_minutes: int) -> IntArray:
    ts = np.asarray(timestamps_ms, dtype=np.int64)
    return ts + np.int64(utc_offset_minutes) * 60_000


def hour_of_day(timestamps_ms: npt.ArrayLike, utc_offset_minutes: int = 0) -> IntArray:
    """Hour 0..23 of each timestamp.

    >>> midnight = 1_704_067_200_000  # 2024-01-01 00:00 UTC
    >>> hour_of_day([midnight, midnight + 90 * 60_000]).tolist()
    [0, 1]
    >>> hour_of_day([midnight], utc_offset_minutes=120).tolist()
    [2]
    """
    return (_local_ms(timestamps_ms, utc_offset_minutes) // MS_PER_HOUR) % 24


def day_of_week(timestamps_ms: npt.ArrayLike, utc_offset_minutes: int = 0) -> IntArray:
    """Day of week, Monday = 0 .. Sunday = 6.

    >>> monday = 1_704_067_200_000  # 2024-01-01 00:00 UTC
    >>> day_of_week([monday, monday + 5 * 86_400_000]).tolist()
    [0, 5]
    """
    days = _local_ms(timestamps_ms, utc_offset_minutes) // MS_PER_DAY
    # 1970-01-01 was a Thursday (3 when Monday is 0).
    return (days + 3) % 7


def hour_of_week(timestamps_ms: npt.ArrayLike, utc_offset_minutes: int = 0) -> IntArray:
    """Hour 0..167 counted from Monday 00:00."""
    return day_of_week(timestamps_ms, utc_offset_minutes) * 24 + hour_of_day(
        timestamps_ms, utc_offset_minutes
    )


def is_weekend(timestamps_ms: npt.ArrayLike, utc_offset_minutes: int = 0) -> FloatArray:
    """1.0 on Saturday and Sunday, else 0.0."""
    return (day_of_week(timestamps_ms, utc_offset_minutes) >= 5).astype(np.float64)


def is_peak(
    timestamps_ms: npt.ArrayLike,
    utc_offset_minutes: int = 0,
    start_hour: int = 9,
    end_hour: int = 18,
) -> FloatArray:
    """1.0 on weekdays between `start_hour` (inclusive) and `end_hour` (exclusive)."""
    hour = hour_of_day(timestamps_ms, utc_offset_minutes)
    weekday = day_of_week(timestamps_ms, utc_offset_minutes) < 5
    return (weekday & (hour >= start_hour) & (hour < end_hour)).astype(np.float64)


def cyclic(values: npt.ArrayLike, period: int) -> tuple[FloatArray, FloatArray]:
    """(sin, cos) encoding of a periodic integer feature, so 23 h and 0 h are neighbours."""
    angle = 2.0 * np.pi * np.asarray(values, dtype=np.float64) / period
    return np.sin(angle), np.cos(angle)
