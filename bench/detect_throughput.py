"""Streaming throughput of every registered detector on one core: points scored per second."""

from __future__ import annotations

import time

import numpy as np

from bench._record import record, table
from failcast.detect import create, names

POINTS = 100_000
METRICS = 5  # for detectors that score a vector of metrics per point
GOAL = 100_000


def series(multivariate: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(POINTS)
    base = 50 + 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, POINTS)
    ts = 1_704_067_200_000 + t.astype(np.int64) * 300_000
    if multivariate:
        return np.column_stack([base + rng.normal(0, 1, POINTS) for _ in range(METRICS)]), ts
    return base, ts


def main() -> None:
    rows: list[list[object]] = []
    for name in names():
        detector = create(name)
        values, ts = series(detector.multivariate)
        start = time.perf_counter()
        detector.score(values, ts)
        rate = POINTS / (time.perf_counter() - start)
        unit = f"{METRICS}-metric vectors" if detector.multivariate else "points"
        rows.append([name, f"{rate:,.0f}", unit, "yes" if rate >= GOAL else "no"])
        print(f"{name:14s} {rate:12,.0f} {unit}/s")
    body = (
        f"{POINTS:,} points streamed through `detector.score` (one `update` per point, the "
        f"same code path as live scoring), single process. Goal: {GOAL:,} points/s.\n\n"
        + table(["detector", "per second", "unit", "meets goal"], rows)
    )
    record("detect_throughput", "Detector streaming throughput", body)


if __name__ == "__main__":
    main()
