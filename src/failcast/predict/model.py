"""The trained failure model: a discrete-time hazard over the horizon grid, an incident-type
classifier, and the feature schema they were trained on.

For horizons H1 < H2 < ... each `HorizonModel` estimates the hazard of its interval: the
probability that an incident starts in (t + H(k-1), t + Hk] given that none starts before it
(H0 = 0). The probability of an incident within Hk is then 1 - (1 - h1)(1 - h2)...(1 - hk),
which can only grow with the horizon: P(1 h) <= P(24 h) <= P(48 h) <= P(72 h) holds by
construction, not by clipping. Each hazard is a weighted ensemble calibrated on the rows at
risk of its interval, and each horizon has its own decision threshold on the composed
probability."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from failcast.predict.calibration import Calibrator
from failcast.predict.labels import FloatArray
from failcast.predict.members import (
    LstmMember,
    Member,
    SeqArray,
    TreeMember,
    lstm_status,
    member_from_dict,
)

ARTIFACT_FORMAT = 2  # 2: behaviour features and interval hazards


class IncompatibleArtifact(ValueError):
    """A stored model from an earlier artifact format, which this version cannot serve."""


SMALL_BATCH = 256


def json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: they become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


@dataclass
class HorizonModel:
    """Everything that turns a feature row into the hazard of the interval ending at
    `horizon_h`, and the threshold on P(incident within `horizon_h`)."""

    horizon_h: int
    members: dict[str, Member]
    weights: dict[str, float]
    calibrator: Calibrator
    threshold: float

    def raw(
        self,
        X: FloatArray,
        sequences: SeqArray | None = None,
        dmatrix: xgb.DMatrix | None = None,
    ) -> FloatArray:
        """The weighted member average before calibration; members that cannot run are skipped."""
        total = np.zeros(len(X))
        used = 0.0
        for name, member in self.members.items():
            weight = self.weights.get(name, 0.0)
            if weight <= 0.0 or (name == "lstm" and sequences is None):
                continue
            if isinstance(member, TreeMember):
                total += weight * member.predict(X, dmatrix=dmatrix)
            else:
                total += weight * member.predict(X, sequences)
            used += weight
        out: FloatArray = total / used if used > 0 else total
        return out

    def predict(
        self,
        X: FloatArray,
        sequences: SeqArray | None = None,
        dmatrix: xgb.DMatrix | None = None,
    ) -> FloatArray:
        """The calibrated hazard of this horizon's interval."""
        return self.calibrator.apply(self.raw(X, sequences, dmatrix))

    @property
    def lstm(self) -> LstmMember | None:
        member = self.members.get("lstm")
        return (
            member if isinstance(member, LstmMember) and self.weights.get("lstm", 0) > 0 else None
        )

    @property
    def tree(self) -> TreeMember | None:
        member = self.members.get("xgboost")
        return member if isinstance(member, TreeMember) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon_h": self.horizon_h,
            "members": {n: m.to_dict() for n, m in self.members.items()},
            "weights": self.weights,
            "calibrator": self.calibrator.to_dict(),
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HorizonModel:
        members = {}
        for name, spec in data["members"].items():
            # An artifact trained with torch still serves (with the trees) where torch is absent.
            if name == "lstm" and lstm_status() != "available":
                continue
            members[name] = member_from_dict(spec)
        return cls(
            int(data["horizon_h"]),
            members,
            {k: float(v) for k, v in data["weights"].items()},
            Calibrator.from_dict(data["calibrator"]),
            float(data["threshold"]),
        )


UNKNOWN_TYPE = "unknown"
TYPE_MIN_CONFIDENCE = 0.6  # below this the type classifier's answer is "unknown"


@dataclass
class TypeModel:
    """Which kind of incident is coming: multi-class xgboost over the rows followed by an
    incident, or the one class seen. `majority` is the commonest type in training, the
    reference its accuracy is reported against."""

    classes: list[str]
    booster: xgb.Booster | None = None
    majority: str = UNKNOWN_TYPE
    min_confidence: float = TYPE_MIN_CONFIDENCE

    @classmethod
    def fit(
        cls, X: FloatArray, types: Sequence[str | None], *, seed: int = 0, n_jobs: int = 1
    ) -> TypeModel:
        rows = [i for i, t in enumerate(types) if t is not None]
        labels = [str(types[i]) for i in rows]
        classes = sorted(set(labels))
        majority = max(classes, key=labels.count) if classes else UNKNOWN_TYPE
        if len(classes) < 2:
            return cls(classes or [UNKNOWN_TYPE], None, majority)
        codes = np.array([classes.index(t) for t in labels])
        # Shallow, slow and sampled: its probabilities decide when to answer "unknown", so
        # they must not become confident on noise.
        model = xgb.XGBClassifier(
            n_estimators=100,
            learning_rate=0.05,
            max_depth=3,
            min_child_weight=5.0,
            subsample=0.8,
            max_bin=64,
            tree_method="hist",
            colsample_bytree=0.5,
            random_state=seed,
            n_jobs=n_jobs,
        )
        model.fit(X[rows], codes)
        return cls(classes, model.get_booster(), majority)

    def ranked(
        self, X: FloatArray, dmatrix: xgb.DMatrix | None = None
    ) -> tuple[list[str], FloatArray]:
        """Most likely type of each row and its probability, however unsure."""
        if self.booster is None:
            return [self.classes[0]] * len(X), np.ones(len(X))
        raw = (
            self.booster.predict(dmatrix)
            if dmatrix is not None
            else self.booster.inplace_predict(X)
        )
        probs = np.asarray(raw, dtype=np.float64)
        if probs.ndim == 1:
            probs = np.column_stack([1.0 - probs, probs])
        best = probs.argmax(axis=1)
        return [self.classes[i] for i in best.tolist()], probs[np.arange(len(X)), best]

    def predict(
        self, X: FloatArray, dmatrix: xgb.DMatrix | None = None
    ) -> tuple[list[str], FloatArray]:
        """Most likely type of each row and its probability; "unknown" below `min_confidence`."""
        types, confidence = self.ranked(X, dmatrix)
        answered = [
            t if c >= self.min_confidence else UNKNOWN_TYPE
            for t, c in zip(types, confidence.tolist(), strict=True)
        ]
        return answered, confidence

    def figures(self, X: FloatArray, truth: Sequence[str]) -> dict[str, float]:
        """Accuracy on rows whose incident type is known, against always answering the
        training majority; and how often it answers, and how well, when it is sure enough."""
        if not truth:
            return {"cases": 0.0}
        types, confidence = self.ranked(X)
        hit = np.array([t == y for t, y in zip(types, truth, strict=True)])
        sure = confidence >= self.min_confidence
        return {
            "cases": float(len(truth)),
            "accuracy": float(hit.mean()),
            "majority_accuracy": float(np.mean([y == self.majority for y in truth])),
            "answered": float(sure.mean()),
            "answered_accuracy": float(hit[sure].mean()) if sure.any() else math.nan,
        }

    def to_dict(self) -> dict[str, Any]:
        raw = None
        if self.booster is not None:
            raw = bytes(self.booster.save_raw(raw_format="json")).decode()
        return {
            "classes": self.classes,
            "booster": raw,
            "majority": self.majority,
            "min_confidence": self.min_confidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TypeModel:
        booster = None
        if data.get("booster"):
            booster = xgb.Booster()
            booster.load_model(bytearray(data["booster"].encode()))
            booster.set_param({"nthread": 1})
        return cls(
            list(data["classes"]),
            booster,
            str(data.get("majority", UNKNOWN_TYPE)),
            float(data.get("min_confidence", TYPE_MIN_CONFIDENCE)),
        )


@dataclass
class Prediction:
    """One row's answer for every horizon."""

    probability: dict[int, float]
    alarm: dict[int, bool]
    incident_type: str
    type_confidence: float


@dataclass
class FailureModel:
    """The whole artifact a model version stores."""

    feature_names: list[str]
    horizons: dict[int, HorizonModel]
    type_model: TypeModel
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def members(self) -> list[str]:
        names: list[str] = []
        for horizon in self.horizons.values():
            names += [
                n for n in horizon.members if horizon.weights.get(n, 0) > 0 and n not in names
            ]
        return names

    @property
    def sequence_columns(self) -> list[int] | None:
        """Feature columns whose last day the LSTM members read (one set for every horizon),
        or None when no horizon uses an LSTM."""
        for horizon in self.horizons.values():
            if horizon.lstm is not None:
                return horizon.lstm.columns
        return None

    def describe_members(self) -> dict[str, Any]:
        """What the ensemble is made of: {"members": [...], "lstm": "<status>"}."""
        status = lstm_status()
        # Where torch is missing the LSTM cannot run, whatever the training machine had.
        lstm = self.meta.get("lstm", status) if status == "available" else status
        return {"members": self.members, "lstm": lstm}

    def align(self, rows: Sequence[Mapping[str, float]]) -> FloatArray:
        """A matrix in this model's column order from name -> value rows (NaN where absent)."""
        index = {name: j for j, name in enumerate(self.feature_names)}
        out = np.full((len(rows), len(self.feature_names)), np.nan)
        for i, row in enumerate(rows):
            for name, value in row.items():
                j = index.get(name)
                if j is not None:
                    out[i, j] = value
        return out

    def predict_proba(
        self,
        X: FloatArray,
        sequences: SeqArray | None = None,
        dmatrix: xgb.DMatrix | None = None,
    ) -> dict[int, FloatArray]:
        """P(an incident starts within h) per horizon h: one minus the chance of surviving
        every interval up to h."""
        hazards = {h: m.predict(X, sequences, dmatrix) for h, m in self.horizons.items()}
        return compose(hazards)

    def predict(self, X: FloatArray, sequences: SeqArray | None = None) -> list[Prediction]:
        # For a few rows one shared DMatrix beats a call per booster on a numpy array.
        dmatrix = xgb.DMatrix(X, nthread=1) if len(X) <= SMALL_BATCH else None
        probs = self.predict_proba(X, sequences, dmatrix)
        types, confidence = self.type_model.predict(X, dmatrix)
        out = []
        for i in range(len(X)):
            p = {h: float(v[i]) for h, v in probs.items()}
            alarm = {h: p[h] >= self.horizons[h].threshold for h in p}
            out.append(Prediction(p, alarm, types[i], float(confidence[i])))
        return out

    def contributions(self, X: FloatArray, horizon_h: int) -> FloatArray | None:
        """Tree log-odds contributions for `horizon_h` (None when that horizon has no trees)."""
        tree = self.horizons[horizon_h].tree
        return tree.contributions(X) if tree is not None else None

    def to_bytes(self) -> bytes:
        data = {
            "format": ARTIFACT_FORMAT,
            "feature_names": self.feature_names,
            "horizons": [m.to_dict() for m in self.horizons.values()],
            "type_model": self.type_model.to_dict(),
            "meta": json_safe(self.meta),
        }
        return gzip.compress(json.dumps(data, allow_nan=False).encode(), mtime=0)

    @classmethod
    def from_bytes(cls, blob: bytes) -> FailureModel:
        data = json.loads(gzip.decompress(blob))
        if data.get("format") != ARTIFACT_FORMAT:
            raise IncompatibleArtifact(
                f"model artifact format {data.get('format')!r}; this version reads"
                f" format {ARTIFACT_FORMAT} only: train a new model"
            )
        horizons = [HorizonModel.from_dict(h) for h in data["horizons"]]
        return cls(
            list(data["feature_names"]),
            {h.horizon_h: h for h in horizons},
            TypeModel.from_dict(data["type_model"]),
            dict(data["meta"]),
        )


def fit_weights(
    predictions: Mapping[str, FloatArray], y: npt.NDArray[np.bool_], step: float = 0.05
) -> dict[str, float]:
    """Convex member weights minimising validation log loss (a grid over the simplex)."""
    names = list(predictions)
    if len(names) <= 1:
        return dict.fromkeys(names, 1.0)
    target = y.astype(np.float64)

    def loss(weights: Sequence[float]) -> float:
        p = sum(w * predictions[n] for w, n in zip(weights, names, strict=True))
        q = np.clip(np.asarray(p), 1e-6, 1 - 1e-6)
        return float(-np.mean(target * np.log(q) + (1 - target) * np.log(1 - q)))

    best: tuple[float, list[float]] = (math.inf, [1.0 / len(names)] * len(names))
    ticks = np.arange(0.0, 1.0 + 1e-9, step)
    if len(names) == 2:
        grid: list[list[float]] = [[float(w), float(1 - w)] for w in ticks]
    else:
        grid = [[1.0 / len(names)] * len(names)]
        grid += [[1.0 if j == i else 0.0 for j in range(len(names))] for i in range(len(names))]
    for weights in grid:
        value = loss(weights)
        if value < best[0]:
            best = (value, weights)
    return {n: round(w, 4) for n, w in zip(names, best[1], strict=True)}


def compose(hazards: Mapping[int, FloatArray]) -> dict[int, FloatArray]:
    """Cumulative probabilities from interval hazards, horizons in ascending order."""
    out: dict[int, FloatArray] = {}
    survival: FloatArray | None = None
    for h in sorted(hazards):
        stay = 1.0 - np.clip(hazards[h], 0.0, 1.0)
        survival = stay if survival is None else survival * stay
        out[h] = 1.0 - survival
    return out
