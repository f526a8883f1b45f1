"""Training on time-ordered splits: trees (and an LSTM when torch is present) per horizon,
member weights, calibration and the decision threshold fitted on the validation split."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from failcast.predict.calibration import fit_calibrator, reliability
from failcast.predict.dataset import STEP_MS, Dataset
from failcast.predict.labels import DEFAULT_HORIZONS, HOUR_MS, FloatArray
from failcast.predict.members import (
    SEQUENCE_LENGTH,
    ConstantMember,
    LstmMember,
    Member,
    TreeMember,
    lstm_status,
    sequences,
)
from failcast.predict.metrics import DEFAULT_MIN_PRECISION, choose_threshold, classification, events
from failcast.predict.model import FailureModel, HorizonModel, TypeModel, fit_weights

LSTM_FEATURES = 24  # the LSTM sees the trees' most important columns, to stay small
# The newest share of the training span on which trees stop early, apart from the validation
# split that calibrates them and chooses thresholds.
STOP_SHARE = 0.2


@dataclass
class TrainConfig:
    """How to train; fractions are of the time span, oldest data first."""

    horizons: tuple[int, ...] = DEFAULT_HORIZONS
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    min_precision: float = DEFAULT_MIN_PRECISION
    seed: int = 0
    n_jobs: int = 1
    use_lstm: bool = True
    tree_params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizons": list(self.horizons),
            "val_fraction": self.val_fraction,
            "test_fraction": self.test_fraction,
            "min_precision": self.min_precision,
            "seed": self.seed,
        }


@dataclass
class Splits:
    """Boundaries (epoch ms): train [start, stop_start), early stopping [stop_start, val_start),
    validation (calibration and thresholds) [val_start, test_start), test [test_start, end]."""

    start: int
    val_start: int
    test_start: int
    end: int
    stop_start: int = -1

    def __post_init__(self) -> None:
        if self.stop_start < 0:
            self.stop_start = self.start + round((self.val_start - self.start) * (1 - STOP_SHARE))


@dataclass
class TrainResult:
    model: FailureModel
    splits: Splits
    metrics: dict[str, Any]


Progress = Callable[[str], None]


def time_splits(
    ts_ms: FloatArray | np.ndarray, val_fraction: float, test_fraction: float
) -> Splits:
    """Cut the time span (not the rows) into consecutive train, validation and test parts."""
    if not (0 < val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("need 0 < val_fraction, 0 <= test_fraction, and their sum below 1")
    lo, hi = int(np.min(ts_ms)), int(np.max(ts_ms))
    span = hi - lo
    test_start = hi + 1 if test_fraction == 0 else lo + round(span * (1 - test_fraction))
    val_start = lo + round(span * (1 - test_fraction - val_fraction))
    return Splits(lo, val_start, test_start, hi)


def purged(ds: Dataset, lo: int, hi: int, horizon_h: float) -> np.ndarray:
    """Rows in [lo, hi) whose label window (t, t + H] ends by `hi`: no label from beyond the cut."""
    h = round(horizon_h * HOUR_MS)
    mask: np.ndarray = (ds.ts_ms >= lo) & (ds.ts_ms < hi) & (ds.ts_ms + h <= hi)
    return mask


def at_risk(ds: Dataset, horizons: Sequence[int], h: int) -> np.ndarray:
    """Rows at risk in the interval ending at horizon `h`: no incident starts before its
    beginning (the previous horizon), so the interval's hazard is what is left to learn."""
    earlier = [g for g in horizons if g < h]
    if not earlier:
        return np.ones(len(ds), dtype=bool)
    risk: np.ndarray = ~ds.labels[max(earlier)]
    return risk


def fit_model(
    ds: Dataset,
    splits: Splits,
    config: TrainConfig,
    progress: Progress | None = None,
) -> FailureModel:
    """Fit the hazard of every horizon's interval on [start, stop_start), stop its trees early on
    [stop_start, val_start), then weigh the members, calibrate the hazard and choose each
    horizon's threshold on [val_start, test_start). Every split's rows are purged: their label
    windows end before the next split begins, a gap of at least the horizon."""
    say = progress or (lambda _: None)
    use_lstm = config.use_lstm and lstm_status() == "available"
    grid = sorted(config.horizons)
    masks = {}
    for h in grid:
        risk = at_risk(ds, grid, h)
        masks[h] = (
            purged(ds, splits.start, splits.stop_start, h) & risk,
            purged(ds, splits.stop_start, splits.val_start, h) & risk,
            purged(ds, splits.val_start, splits.test_start, h) & risk,
        )
    trees: dict[int, TreeMember | ConstantMember] = {}
    for h in grid:
        say(f"{h} h horizon: trees")
        tr, stop, _ = masks[h]
        y = ds.labels[h]
        trees[h] = TreeMember.fit(
            ds.X[tr], y[tr], ds.X[stop], y[stop], seed=config.seed, n_jobs=config.n_jobs,
            params=config.tree_params,
        )  # fmt: skip
    columns = lstm_columns(trees, len(ds.names)) if use_lstm else []
    validating = {h: purged(ds, splits.val_start, splits.test_start, h) for h in grid}
    seq_all = None
    if columns:
        used = np.any([m for parts in masks.values() for m in parts], axis=0)
        used |= np.any(list(validating.values()), axis=0)
        seq_all = np.zeros((len(ds), SEQUENCE_LENGTH, len(columns)), dtype=np.float32)
        seq_all[used] = sequences(ds.X, ds.ts_ms, ds.services, columns, rows=used)
    horizons: dict[int, HorizonModel] = {}
    hazard_figures: dict[str, Any] = {}
    lstm_seconds = 0.0
    for h in grid:
        tr, _, va = masks[h]
        y = ds.labels[h]
        tree = trees[h]
        members: dict[str, Member] = {tree.name: tree}
        val_preds = {tree.name: tree.predict(ds.X[va])}
        if seq_all is not None and isinstance(tree, TreeMember) and va.any():
            say(f"{h} h horizon: LSTM")
            started = time.perf_counter()
            lstm = LstmMember.fit(seq_all[tr], y[tr], columns, seed=config.seed)
            lstm_seconds += time.perf_counter() - started
            members[lstm.name] = lstm
            val_preds[lstm.name] = lstm.predict(ds.X[va], seq_all[va])
        weights = fit_weights(val_preds, y[va])
        raw = np.asarray(sum(weights[n] * val_preds[n] for n in val_preds), dtype=np.float64)
        calibrator = fit_calibrator(raw, y[va])
        horizons[h] = HorizonModel(h, members, weights, calibrator, 1.0)
        hazard_figures[f"{h}h"] = {
            "weights": weights,
            "calibration": calibrator.method,
            "raw_brier": float(np.mean((raw - y[va]) ** 2)) if va.any() else math.nan,
            "at_risk_rows": int(va.sum()),
        }
    model = FailureModel(list(ds.names), horizons, TypeModel(["unknown"]))
    validation: dict[str, Any] = {}
    for h in grid:
        va = validating[h]
        y = ds.labels[h][va]
        p = model.predict_proba(ds.X[va], seq_all[va] if seq_all is not None else None)[h]
        threshold = choose_threshold(p, y, config.min_precision)
        horizons[h].threshold = threshold
        validation[f"{h}h"] = {
            **classification(p, y, threshold),
            **hazard_figures[f"{h}h"],
            "threshold": threshold,
            "reliability": [list(b) for b in reliability(p, y)],
        }
    say("incident type")
    longest = max(grid)
    tr = purged(ds, splits.start, splits.val_start, longest)
    model.type_model = TypeModel.fit(
        ds.X[tr], [ds.next_type[i] for i in np.flatnonzero(tr).tolist()],
        seed=config.seed, n_jobs=config.n_jobs,
    )  # fmt: skip
    va = purged(ds, splits.val_start, splits.test_start, longest)
    validation["type"] = type_figures(model, ds, va)
    model.meta = {
        "lstm": lstm_status() if config.use_lstm else "disabled",
        "validation": validation,
        "config": config.to_dict(),
        "rows": {"train": int(tr.sum()), "total": len(ds)},
    }
    if columns:
        model.meta["lstm_columns"] = [ds.names[j] for j in columns]
        model.meta["lstm_train_s"] = round(lstm_seconds, 2)
    return model


def type_figures(model: FailureModel, ds: Dataset, rows: np.ndarray) -> dict[str, float]:
    """The type classifier's figures on `rows` followed by an incident within the longest
    horizon."""
    known = [i for i in np.flatnonzero(rows).tolist() if ds.next_type[i] is not None]
    truth = [str(ds.next_type[i]) for i in known]
    return model.type_model.figures(ds.X[known], truth)


def lstm_columns(
    trees: Mapping[int, TreeMember | ConstantMember], n_features: int, count: int = LSTM_FEATURES
) -> list[int]:
    """The `count` columns the trees of all horizons lean on most (each horizon's gains summed
    as shares), one set for every horizon so that a row's sequence is cut once."""
    total = np.zeros(n_features)
    for tree in trees.values():
        if isinstance(tree, TreeMember):
            gains = tree.importance(n_features)
            if gains.sum() > 0:
                total += gains / gains.sum()
    if not total.any():
        return []
    ranked = np.argsort(-total, kind="stable")
    return sorted(int(j) for j in ranked[:count] if total[j] > 0)


def predict_rows(
    model: FailureModel, ds: Dataset, rows: np.ndarray, horizons: Sequence[int] | None = None
) -> dict[int, FloatArray]:
    """Calibrated probabilities of `rows` of a time-ordered dataset, every member taking part
    (the LSTM's sequences are cut from the rows before each, never after)."""
    columns = model.sequence_columns
    seq = (
        sequences(ds.X, ds.ts_ms, ds.services, columns, rows=rows) if columns is not None else None
    )
    probs = model.predict_proba(ds.X[rows], seq)
    return {h: probs[h] for h in horizons or list(model.horizons)}


def evaluate(
    model: FailureModel, ds: Dataset, lo: int, hi: int, horizons: Sequence[int] | None = None
) -> dict[str, Any]:
    """Figures per horizon on rows in [lo, hi] whose label window is fully known by `hi`, and
    the incident type classifier's (key "type")."""
    out: dict[str, Any] = {
        "type": type_figures(model, ds, purged(ds, lo, hi + 1, max(model.horizons)))
    }
    for h in horizons or list(model.horizons):
        rows = purged(ds, lo, hi + 1, h)
        p = predict_rows(model, ds, rows, [h])[h]
        y = ds.labels[h][rows]
        threshold = model.horizons[h].threshold
        services = [ds.services[i] for i in np.flatnonzero(rows).tolist()]
        out[f"{h}h"] = {
            **classification(p, y, threshold),
            **events(ds.ts_ms[rows], services, p >= threshold, ds.incidents, h),
            "threshold": threshold,
        }
    return out


def train(
    ds: Dataset, config: TrainConfig | None = None, progress: Progress | None = None
) -> TrainResult:
    """Train on the oldest part, tune on the next, report on the newest (held-out test)."""
    config = config or TrainConfig()
    if len(ds) == 0:
        raise ValueError("no training rows")
    splits = time_splits(ds.ts_ms, config.val_fraction, config.test_fraction)
    model = fit_model(ds, splits, config, progress)
    metrics: dict[str, Any] = {"validation": model.meta["validation"]}
    if config.test_fraction > 0:
        metrics["test"] = evaluate(model, ds, splits.test_start, splits.end)
    model.meta["test"] = metrics.get("test", {})
    # Features count windows in grid points, so the model is only valid on the grid it learnt
    # from; rows without their history are taken to be on the stored five-minute grid.
    model.meta["step_ms"] = ds.fleet.step_ms if ds.fleet is not None else STEP_MS
    return TrainResult(model, splits, metrics)
