"""Walk-forward replay: retrain every few days on everything before, predict the next days,
and grade predictions, baselines and root causes against what happened."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from failcast.explain import RootCause, rank_root_causes, service_evidence
from failcast.features.behaviour import HEADROOM_CAP_H
from failcast.predict.baselines import StaticLimits, persistence
from failcast.predict.dataset import Dataset, FleetData
from failcast.predict.labels import DEFAULT_HORIZONS, HOUR_MS, FloatArray, IncidentLike
from failcast.predict.metrics import (
    DEFAULT_MIN_PRECISION,
    bootstrap_intervals,
    choose_threshold,
    classification,
    events,
)
from failcast.predict.training import Splits, TrainConfig, fit_model, predict_rows, purged

DAY_MS = 24 * HOUR_MS
BASELINES = (
    "climatology",
    "time-to-limit",
    "static threshold",
    "predict_linear",
    "persistence",
)
HEADROOM_COLUMN = "any__headroom_h__worst"


@dataclass
class BacktestConfig:
    horizons: tuple[int, ...] = DEFAULT_HORIZONS
    initial_days: float = 28.0
    retrain_days: float = 7.0
    val_fraction: float = 0.25
    min_precision: float = DEFAULT_MIN_PRECISION
    seed: int = 0
    use_lstm: bool = True
    bootstrap: int = 200  # replicates for the 90 % intervals (0: none)


@dataclass
class HorizonReplay:
    """Out-of-sample rows of one horizon: outcome, each method's score and alarms."""

    y: list[np.ndarray] = field(default_factory=list)
    ts: list[np.ndarray] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    rates: list[np.ndarray] = field(default_factory=list)  # training base rate per row
    scores: dict[str, list[np.ndarray]] = field(default_factory=dict)
    alarms: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, name: str, score: np.ndarray, alarm: np.ndarray) -> None:
        self.scores.setdefault(name, []).append(score)
        self.alarms.setdefault(name, []).append(alarm)


@dataclass
class BacktestResult:
    folds: int
    metrics: dict[str, dict[str, dict[str, Any]]]  # horizon -> method -> figures
    calibration: dict[str, tuple[FloatArray, np.ndarray]]  # horizon -> (p, y) out of sample
    meta: dict[str, Any]
    # horizon -> rows predicted (a mask of the dataset), and their alarms in dataset order
    evaluated: dict[str, np.ndarray] = field(default_factory=dict)
    alarms: dict[str, np.ndarray] = field(default_factory=dict)


Progress = Callable[[str], None]


def reference_scores(
    ds: Dataset, rows: np.ndarray, h: int, limits: StaticLimits, rate: float
) -> dict[str, FloatArray]:
    """Each reference's score of `rows` (larger: more alarming)."""
    hours = ds.X[rows, ds.names.index(HEADROOM_COLUMN)]
    return {
        "climatology": np.full(int(rows.sum()), rate),
        # Alarm when a metric's trend reaches its (known or learnt) limit soon.
        "time-to-limit": -np.nan_to_num(hours, nan=HEADROOM_CAP_H),
        "static threshold": limits.score(ds, rows),
        "predict_linear": limits.score(ds, rows, ahead_h=h),
        "persistence": persistence(ds, rows, h),
    }


def backtest(
    ds: Dataset, config: BacktestConfig | None = None, progress: Progress | None = None
) -> BacktestResult:
    """Retrain every `retrain_days` on all earlier data (the last `val_fraction` of it for
    validation), then predict the next `retrain_days`; rows whose label window runs past the
    data are left out. Every reference gets its threshold from the same validation rows by the
    same rule as the model (`metrics.choose_threshold`)."""
    config = config or BacktestConfig()
    say = progress or (lambda _: None)
    lo, hi = int(ds.ts_ms.min()), int(ds.ts_ms.max())
    starts = np.arange(lo + config.initial_days * DAY_MS, hi, config.retrain_days * DAY_MS)
    replay = {h: HorizonReplay() for h in config.horizons}
    train_config = TrainConfig(
        horizons=config.horizons, min_precision=config.min_precision, seed=config.seed,
        use_lstm=config.use_lstm,
    )  # fmt: skip
    meta: dict[str, Any] = {"lstm": None, "thresholds": {}}
    for fold, start in enumerate(starts.tolist()):
        start = int(start)
        end = int(min(start + config.retrain_days * DAY_MS, hi + 1))
        say(f"fold {fold + 1}/{len(starts)}")
        val_start = lo + round((start - lo) * (1 - config.val_fraction))
        model = fit_model(ds, Splits(lo, val_start, start, end), train_config)
        meta["lstm"] = model.describe_members()
        meta["lstm_train_s"] = meta.get("lstm_train_s", 0.0) + model.meta.get("lstm_train_s", 0.0)
        meta.setdefault("weights", []).append(
            {f"{h}h": m.weights for h, m in model.horizons.items()}
        )
        limits = StaticLimits.fit(ds, ds.ts_ms < start)
        for h in config.horizons:
            rows = (ds.ts_ms >= start) & (ds.ts_ms < end) & (ds.ts_ms + h * HOUR_MS <= hi)
            if not rows.any():
                continue
            trained = purged(ds, lo, val_start, h)
            validating = purged(ds, val_start, start, h)
            rate = float(ds.labels[h][trained].mean()) if trained.any() else 0.0
            r = replay[h]
            p = predict_rows(model, ds, rows, [h])[h]
            r.y.append(ds.labels[h][rows])
            r.ts.append(ds.ts_ms[rows])
            r.services += [ds.services[i] for i in np.flatnonzero(rows).tolist()]
            r.rates.append(np.full(int(rows.sum()), rate))
            r.add("model", p, p >= model.horizons[h].threshold)
            meta["thresholds"].setdefault(f"{h}h", []).append(model.horizons[h].threshold)
            tuned = reference_scores(ds, validating, h, limits, rate)
            y_val = ds.labels[h][validating]
            for name, score in reference_scores(ds, rows, h, limits, rate).items():
                threshold = choose_threshold(tuned[name], y_val, config.min_precision)
                r.add(name, score, score >= threshold)
    metrics: dict[str, dict[str, dict[str, Any]]] = {}
    calibration: dict[str, tuple[FloatArray, np.ndarray]] = {}
    evaluated: dict[str, np.ndarray] = {}
    alarms: dict[str, np.ndarray] = {}
    for h, r in replay.items():
        if not r.y:
            continue
        say(f"{h} h: figures and intervals")
        y, ts, rates = (np.concatenate(a) for a in (r.y, r.ts, r.rates))
        key = f"{h}h"
        # Folds follow each other in time and the dataset is time-ordered: same order.
        evaluated[key] = (ds.ts_ms >= starts[0]) & (ds.ts_ms + h * HOUR_MS <= hi)
        metrics[key] = {}
        for name in ("model", *BASELINES):
            score = np.concatenate(r.scores[name])
            fired = np.concatenate(r.alarms[name])
            probabilistic = name in ("model", "climatology")
            # A rule's "probability" is its alarm (0/1) for the Brier score; AUC-PR uses the score.
            p = score if probabilistic else fired.astype(np.float64)
            figures: dict[str, Any] = {
                **classification(p, y, 0.5, alarms=fired),
                **events(ts, r.services, fired, ds.incidents, h),
            }
            figures["auc_pr"] = classification(score, y, 0.5)["auc_pr"]
            figures["brier_skill"] = 1.0 - figures["brier"] / float(np.mean((rates - y) ** 2))
            if config.bootstrap:
                figures["ci"] = bootstrap_intervals(
                    ts, r.services, p, y, fired, ds.incidents, h, float(rates.mean()),
                    ranking=score, replicates=config.bootstrap, seed=config.seed,
                )  # fmt: skip
            metrics[key][name] = figures
        calibration[key] = (np.concatenate(r.scores["model"]), y)
        alarms[key] = np.concatenate(r.alarms["model"])
    meta["days_evaluated"] = (hi - starts[0]) / DAY_MS if len(starts) else 0.0
    return BacktestResult(len(starts), metrics, calibration, meta, evaluated, alarms)


@dataclass
class RcaGrade:
    total: int
    correct: int
    inconclusive: int
    wrong: int
    by_kind: dict[str, dict[str, int]]
    verdicts: list[tuple[IncidentLike, RootCause]]

    @property
    def accuracy(self) -> float:
        """Top-1 accuracy over all graded incidents (inconclusive answers count as misses)."""
        return self.correct / self.total if self.total else float("nan")

    @property
    def conclusive_accuracy(self) -> float:
        answered = self.correct + self.wrong
        return self.correct / answered if answered else float("nan")

    @property
    def inconclusive_share(self) -> float:
        return self.inconclusive / self.total if self.total else float("nan")


def grade_rca(
    fleet: FleetData, incidents: Sequence[IncidentLike], delay_points: int = 2
) -> RcaGrade:
    """Root cause of every incident from data up to `delay_points` grid points after its start,
    graded against the simulator's ground truth."""
    deps = {name: s.dependencies for name, s in fleet.services.items()}
    total = correct = inconclusive = wrong = 0
    by_kind: dict[str, dict[str, int]] = {}
    verdicts = []
    for incident in incidents:
        if incident.service not in fleet.services:
            continue
        at = int(np.searchsorted(fleet.ts_ms, round(incident.start * 1000))) + delay_points
        if at >= len(fleet.ts_ms) or at < 300:
            continue
        names = [incident.service, *fleet.transitive_dependencies(incident.service)]
        evidence = {
            n: service_evidence(fleet.services[n].metrics, at, slow=n == incident.service)
            for n in names
        }
        verdict = rank_root_causes(incident.service, deps, evidence)
        kind = "cascade" if incident.root_cause_service != incident.service else "own fault"
        tally = by_kind.setdefault(kind, {"total": 0, "correct": 0, "inconclusive": 0})
        total += 1
        tally["total"] += 1
        if verdict.verdict == "inconclusive":
            inconclusive += 1
            tally["inconclusive"] += 1
        elif verdict.cause == incident.root_cause_service:
            correct += 1
            tally["correct"] += 1
        else:
            wrong += 1
        verdicts.append((incident, verdict))
    return RcaGrade(total, correct, inconclusive, wrong, by_kind, verdicts)
