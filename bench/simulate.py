"""History-generation rate of the simulated fleet, in samples per second, and the cost of one
live tick.

    python -m bench.simulate [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench._record import record, table
from failcast.chaos import Fleet, generate_history, history_matrix

GOAL = 1_000_000
CASES = [(30, 12, 60), (30, 30, 60), (7, 12, 10)]  # (days, services, step seconds)


def best_of(repeat: int, work: Callable[[], Any]) -> float:
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        timings.append(time.perf_counter() - began)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rows: list[list[object]] = []
    for days, services, step in CASES:
        probe = history_matrix(days, services, step, seed=7)
        samples = probe.matrix.values.size
        matrix_s = best_of(args.repeat, partial(history_matrix, days, services, step, seed=7))
        frame_s = best_of(args.repeat, partial(generate_history, days, services, step, seed=7))
        rows.append(
            [
                f"{days} d, {services} services, {step} s step",
                f"{samples:,}",
                len(probe.incidents),
                f"{samples / matrix_s:,.0f}",
                f"{samples / frame_s:,.0f}",
            ]
        )
        print(rows[-1])

    fleet = Fleet(12, seed=7, organic=True)
    now = time.time()
    ticks = [best_of(1, partial(fleet.tick, now + 2 * i)) for i in range(50)]
    tick_ms = statistics.median(ticks) * 1000
    print(f"live tick, 12 services: {tick_ms:.1f} ms (median of 50)")

    generation = rows[0]
    body = (
        "Samples per second for `generate_history` (the long pandas table, as the CLI uses it) "
        "and for the metric matrix alone (`history_matrix`); best of "
        f"{args.repeat} runs, one process. Goal: at least {GOAL:,} samples/s.\n\n"
        + table(
            ["history", "samples", "incidents", "matrix samples/s", "long table samples/s"], rows
        )
        + f"\n\nReference case (30 days, 12 services, 60 s): {generation[4]} samples/s into the "
        f"long table. A live tick of all 12 services (a day of trailing context on a 5-minute "
        f"grid) takes {tick_ms:.1f} ms, median of 50, well inside the 2 s tick."
    )
    record("simulate", "Simulated fleet: history generation", body)


if __name__ == "__main__":
    main()
