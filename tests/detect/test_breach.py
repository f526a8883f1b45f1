"""Time-to-breach forecasts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from failcast.detect.bounds import metric_bounds
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


def test_a_metric_already_past_its_limit_is_reported_as_past() -> None:
    # Three days near 60, then the last 20 minutes at 100: past 95, not "reaches 95 in ~1 h".
    minutes = np.arange(0, 72 * 60, 5)
    ts = (minutes * 60_000).astype(np.int64)
    cpu = 60.0 + np.random.default_rng(2).normal(0, 1, len(minutes))
    cpu[-4:] = 100.0
    result = time_to_breach(ts, cpu, 95.0)
    assert result is not None and result.hours == 0.0
    assert result.describe("cpu_pct") == "cpu_pct is already past 95"
    # One stray point past the limit is not "past".
    cpu[-4:-1] = 60.0
    assert time_to_breach(ts, cpu, 95.0) is None


def test_a_limit_the_metric_cannot_reach_is_never_forecast() -> None:
    hours = np.arange(0, 48, 0.25)
    ts = (hours * HOUR_MS).astype(np.int64)
    rising = 50.0 + 2.0 * hours
    assert time_to_breach(ts, rising, 150.0, bounds=metric_bounds("cpu_pct")) is None
    assert time_to_breach(ts, rising, 150.0) is not None  # without bounds, a straight line


@pytest.mark.parametrize(
    ("metric", "bounds"),
    [
        ("cpu_pct", (0.0, 100.0)),
        ("disk_used_percent", (0.0, 100.0)),
        ("cache_hit_ratio", (0.0, 1.0)),
        ("availability", (0.0, 1.0)),
        ("up", (0.0, 1.0)),
        ("http_request_duration_seconds", (0.0, math.inf)),
        ("node_memory_MemAvailable_bytes", (0.0, math.inf)),
        ("queue_depth", (0.0, math.inf)),
        ("temperature_celsius", (-math.inf, math.inf)),
    ],
)
def test_metric_bounds_follow_naming_conventions(metric: str, bounds: tuple[float, float]) -> None:
    assert metric_bounds(metric) == bounds
