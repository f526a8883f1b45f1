"""Incident prediction 1 h and 6 h ahead on ASD's 12 application servers, against references.

ASD labels anomalous segments only in its test split, so the start of each labelled segment
is an incident and the test split is cut in time: its first half trains (the last quarter of
that half validates: calibration and thresholds), its second half is evaluated. The
unlabelled train split only warms up the features and sets the rule references' limits.
One model is trained on all servers together (one server's week holds too few incidents); the
servers' metrics are unnamed (`m01` ... `m19`), so they are read by behaviour alone.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bench._detection import ASD, ASD_ORIGIN_MS, ASD_STEP_MS, runs
from bench._prediction import REFERENCES_NOTE, fmt, method_rows, methods_table, with_ci
from bench._record import record, table
from failcast.predict.backtest import BacktestConfig, backtest
from failcast.predict.dataset import FleetData, ServiceData, build_dataset
from failcast.predict.labels import HOUR_MS, IncidentRecord

HORIZONS = (1, 6)
TRAIN_SHARE = 0.5  # of the labelled test split, oldest first
DAY_MS = 24 * HOUR_MS


def load(server: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A server's train split, test split and test labels."""

    def read(kind: str) -> np.ndarray:
        return pd.read_csv(ASD / f"omi-{server}_{kind}.csv.gz", header=None).to_numpy(np.float64)

    return read("train"), read("test"), read("test_label")[:, 0].astype(bool)


def fleet() -> tuple[FleetData, list[IncidentRecord], int]:
    """All servers on one grid (shorter train splits padded at the start) and the incidents;
    also the grid index where the test splits begin."""
    loaded = {f"omi-{n}": load(n) for n in range(1, 13)}
    longest = max(len(train) for train, _, _ in loaded.values())
    n = longest + max(len(test) for _, test, _ in loaded.values())
    ts = ASD_ORIGIN_MS + np.arange(n, dtype=np.int64) * ASD_STEP_MS
    services: dict[str, ServiceData] = {}
    incidents: list[IncidentRecord] = []
    for name, (train, test, labels) in loaded.items():
        data = np.full((n, train.shape[1]), np.nan)
        data[longest - len(train) : longest] = train
        data[longest : longest + len(test)] = test
        services[name] = ServiceData(
            "microservice", {f"m{j + 1:02d}": data[:, j] for j in range(data.shape[1])}
        )
        for a, b in runs(labels):
            start = (ts[longest + a]) / 1000
            # `runs` ends are inclusive: the segment lasts until the step after its last point.
            end = (ts[longest + b] + ASD_STEP_MS) / 1000
            incidents.append(IncidentRecord(name, "anomaly", start, end, name))
    return FleetData(ts, services), incidents, longest


def goals_table(metrics: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The goal on ASD: a Brier skill, and an AUC-PR lift over climatology, whose 90 %
    intervals exclude zero."""
    rows: list[list[object]] = []
    for key, methods in metrics.items():
        model, base = methods["model"], methods["climatology"]
        skill_low = (model.get("ci", {}).get("brier_skill") or [math.nan])[0]
        auc_low = (model.get("ci", {}).get("auc_pr") or [math.nan])[0]
        rows.append([key, "Brier skill > 0", with_ci(model, "brier_skill"),
                     "yes" if skill_low > 0 else "no"])  # fmt: skip
        rows.append([key, f"AUC-PR > climatology ({fmt(base.get('auc_pr'))})",
                     with_ci(model, "auc_pr"),
                     "yes" if auc_low > float(base.get("auc_pr", math.nan)) else "no"])  # fmt: skip
    return "Goals (met when the whole 90 % interval clears the mark):\n\n" + table(
        ["horizon", "goal", "model [90 % CI]", "met"], rows
    )


def main() -> None:
    if not ASD.is_dir():
        print(f"ASD data not found at {ASD}; nothing to do")
        sys.exit(0)
    started = time.perf_counter()
    data, incidents, test_index = fleet()
    ds = build_dataset(data, incidents, HORIZONS, stride=1, warmup=288)
    t0 = int(data.ts_ms[test_index])
    end = int(data.ts_ms[-1])
    cut = t0 + int((end - t0) * TRAIN_SHARE)
    # One fold of the backtest `failcast backtest` runs: train on the labelled rows before the
    # cut (the newest quarter of them validates), predict the rest. The unlabelled train
    # split only warms up the features and sets the rule baselines' limits.
    labelled = ds.subset(ds.ts_ms >= t0)
    config = BacktestConfig(
        horizons=HORIZONS, initial_days=(cut - t0) / DAY_MS,
        retrain_days=(end - cut) / DAY_MS + 1.0,
    )  # fmt: skip
    result = backtest(labelled, config, progress=lambda s: print(s, flush=True))
    elapsed = time.perf_counter() - started
    sections = []
    for key, methods in result.metrics.items():
        model = methods["model"]
        rate = model["positives"] / max(model["rows"], 1)
        sections.append(
            f"**{key} ahead**: {model['positives']:.0f} positive rows of {model['rows']:.0f}"
            f" (base rate {rate:.3f}), {model.get('incidents', 0):.0f} incidents evaluated.\n\n"
            + methods_table(methods)
        )
        print(key, method_rows(methods)[0], flush=True)
    sections.append(goals_table(result.metrics))
    body = (
        f"{__doc__}\nFive-minute rows; a row is positive when a labelled segment of its server "
        f"starts within the horizon. {len(incidents)} incidents in the whole test split. "
        f"Ensemble: {result.meta.get('lstm')}. {elapsed:.0f} s in all.\n\n"
        + REFERENCES_NOTE
        + "\n\n"
        + "\n\n".join(sections)
    )
    record("asd_predict", "ASD: incidents 1 h and 6 h ahead", body)
    print(body)


if __name__ == "__main__":
    main()
