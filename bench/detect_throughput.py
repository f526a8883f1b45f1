"""Streaming throughput of every registered detector on one core: points scored per second,
and the default detector's goals: 100,000 points/s for one series, 20,000 vectors/s of 38
metrics."""

from __future__ import annotations

import time

import numpy as np

from bench._record import record, table
from failcast.detect import create, names

POINTS = 100_000
METRICS = 5  # for detectors that score a vector of metrics per point
WIDE = 38  # the default's vector goal
GOAL = 100_000
VECTOR_GOAL = 20_000


def series(multivariate: bool, metrics: int = METRICS) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(POINTS)
    base = 50 + 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, POINTS)
    ts = 1_704_067_200_000 + t.astype(np.int64) * 300_000
    if multivariate:
        return np.column_stack([base + rng.normal(0, 1, POINTS) for _ in range(metrics)]), ts
    return base, ts


def rate(name: str, metrics: int = METRICS) -> float:
    detector = create(name)
    values, ts = series(detector.multivariate, metrics)
    create(name).score(values[:10], ts[:10])  # compiled code is loaded once per process
    start = time.perf_counter()
    detector.score(values, ts)
    return POINTS / (time.perf_counter() - start)


def main() -> None:
    rows: list[list[object]] = []
    for name in names():
        multivariate = create(name).multivariate
        per_second = rate(name)
        unit = f"{METRICS}-metric vectors" if multivariate else "points"
        goal = "" if multivariate else ("yes" if per_second >= GOAL else "no")
        rows.append([name, f"{per_second:,.0f}", unit, goal])
        print(f"{name:18s} {per_second:12,.0f} {unit}/s")
    wide = rate("surprise_vector", WIDE)
    rows.append(
        [
            "surprise_vector",
            f"{wide:,.0f}",
            f"{WIDE}-metric vectors",
            "yes" if wide >= VECTOR_GOAL else "no",
        ]
    )
    print(f"surprise_vector    {wide:12,.0f} {WIDE}-metric vectors/s")
    body = (
        f"{POINTS:,} points (or rows) through `detector.score`, the batch path that live "
        "scoring, `failcast score` and the API take (the same scores as one `update` per "
        "point, by the detector contract), in one process on one core. Goals for the default "
        f"(`surprise`): {GOAL:,} points/s for one series and {VECTOR_GOAL:,} vectors/s of "
        f"{WIDE} metrics (`surprise_vector`); *meets goal* is left empty for the vector "
        "detectors measured on 5 metrics.\n\n"
        + table(["detector", "per second", "unit", "meets goal"], rows)
    )
    record("detect_throughput", "Detector streaming throughput", body)


if __name__ == "__main__":
    main()
