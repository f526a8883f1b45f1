"""Time-to-breach forecasts."""

from __future__ import annotations

import numpy as np
import pytest

from failcast.detect.breach import time_to_breach

HOUR_MS = 3_600_000


def test_rising_memory_reaches_threshold_in_the_expected_time() -> None:
    # 48 h at 5-minute steps rising 0.5 %/h from 61 %: at the end it is 85 %, so 95 % is 20 h away.
    rng = np.random.default_rng(0)
    hours = np.arange(0, 48, 1 / 12)
    ts = (hours * HOUR_MS).astype(np.int64)
    memory = 61.0 + 0.5 * hours + rng.normal(0, 0.5, len(hours))
    result = time_to_breach(ts, memory, 95.0)
    assert result is not None
    assert result.hours == pytest.approx(20.0, abs=1.5)
    assert result.low_hours < result.hours
    assert result.high_hours is not None and result.high_hours > result.hours
    assert result.low_hours > 12 and result.high_hours < 30
    text = result.describe("memory")
    assert text.startswith("memory reaches 95 in ~20 h (80%: ")


def test_flat_or_far_metric_returns_none() -> None:
    ts = (np.arange(200) * HOUR_MS / 12).astype(np.int64)
    flat = 50.0 + np.random.default_rng(1).normal(0, 0.5, 200)
    assert time_to_breach(ts, flat, 95.0) is None
    slow = 50.0 + 0.001 * np.arange(200)
    assert time_to_breach(ts, slow, 95.0) is None


def test_falling_metric_and_already_breached() -> None:
    hours = np.arange(0, 24, 0.25)
    ts = (hours * HOUR_MS).astype(np.int64)
    disk_free = 40.0 - 1.0 * hours  # ends at 16.25 % free, 1 %/h down: 10 % in 6.25 h
    result = time_to_breach(ts, disk_free, 10.0, direction="below")
    assert result is not None and result.hours == pytest.approx(6.25, abs=0.1)
    assert result.describe("disk free").startswith("disk free falls to 10 in ~6 h")
    done = time_to_breach(ts, 80.0 + hours, 90.0)
    assert done is not None and done.hours == 0.0
    assert time_to_breach(ts[:5], disk_free[:5], 10.0, direction="below") is None
