"""Synthetic training data for the prediction tests: a signal that announces each incident."""

from __future__ import annotations

import copy

import numpy as np

from failcast.predict.dataset import Dataset
from failcast.predict.labels import labels_for_rows
from failcast.predict.training import TrainConfig, TrainResult, train

HOUR = 3_600_000


def synthetic_dataset(rows_per_service: int = 240, seed: int = 0) -> Dataset:
    """Two services; `signal` climbs during the 6 hours before each incident."""
    rng = np.random.default_rng(seed)
    ts = np.repeat(np.arange(rows_per_service, dtype=np.int64) * HOUR, 2)
    services = ["a", "b"] * rows_per_service
    incidents = {
        name: ((np.arange(30 + 7 * k, rows_per_service, 40) * HOUR).astype(np.int64), [])
        for k, name in enumerate(("a", "b"))
    }
    for starts, types in incidents.values():
        types.extend(["resource_exhaustion"] * len(starts))
    X = np.zeros((len(ts), 2))
    kinds: list[str | None] = []
    for i, (t, s) in enumerate(zip(ts.tolist(), services, strict=True)):
        starts = incidents[s][0]
        ahead = starts[starts > t]
        gap = (ahead[0] - t) / HOUR if ahead.size else 99.0
        X[i] = (max(0.0, 6.0 - gap) + 0.3 * rng.standard_normal(), rng.standard_normal())
        kinds.append("resource_exhaustion" if gap <= 6 else None)
    labels = {h: labels_for_rows(ts, services, incidents, h) for h in (1, 6)}
    return Dataset(["signal", "noise"], X, ts, services, labels, kinds, incidents)


def tiny_model() -> TrainResult:
    """A small model on `synthetic_dataset` for the 1 h and 6 h horizons."""
    config = TrainConfig(horizons=(1, 6), tree_params={"n_estimators": 30})
    return train(synthetic_dataset(), config)


def without_skill(result: TrainResult) -> TrainResult:
    """`result` with alarms that catch nothing (F1 = 0), which fails the promotion gate."""
    broken = copy.copy(result)
    broken.metrics = copy.deepcopy(result.metrics)
    for key in broken.metrics["test"]:
        broken.metrics["test"][key]["f1"] = 0.0
    return broken
