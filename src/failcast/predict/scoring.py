"""Scoring a fleet with one model, as pure computation: probabilities per horizon, alarms,
incident type and confidence, risk level, the factors behind each probability and the
root cause, for every service of a `FleetData`."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from failcast.errors import ValidationFailed
from failcast.explain import Factor, RootCause, rank_root_causes, service_evidence, top_factors
from failcast.predict.dataset import (
    POINTS_PER_HOUR,
    FleetData,
    Sources,
    assemble,
    drivers_at,
    fleet_features,
)
from failcast.predict.labels import FloatArray
from failcast.predict.members import SEQUENCE_LENGTH, LstmMember
from failcast.predict.model import FailureModel
from failcast.predict.risk import predicted_level
from failcast.signals import CauseCandidate, ExplainedFactor, RootCauseAnswer

log = logging.getLogger("failcast.predict")

TOP_FACTORS = 5


@dataclass
class ServiceScore:
    """One model's answer for one service at one time."""

    service: str
    ts_ms: int
    probability: dict[int, float]
    alarm: dict[int, bool]
    thresholds: dict[int, float]
    incident_type: str
    confidence: float
    risk_level: str
    factors: dict[int, list[ExplainedFactor]]
    root_cause: RootCauseAnswer | None = None
    members: dict[str, Any] = field(default_factory=dict)


def explained(factor: Factor) -> ExplainedFactor:
    """A factor as a prediction keeps it (a missing value as None)."""
    value = factor.value if math.isfinite(factor.value) else None
    return ExplainedFactor(
        factor.feature, factor.metric, value, factor.contribution, factor.statement
    )


def root_cause_answer(verdict: RootCause, factors: Sequence[Factor]) -> RootCauseAnswer:
    """The RCA verdict, with the failing service's most contributing metric when it is its own
    cause (contributions name the metric better than a single anomaly reading)."""
    metric = verdict.metric
    if verdict.cause == verdict.service:
        own = [f for f in factors if f.metric is not None and f.contribution > 0]
        metric = own[0].metric if own else metric
    return RootCauseAnswer(
        verdict=verdict.verdict,
        service=verdict.cause,
        metric=metric,
        margin=round(verdict.margin, 4),
        reason=verdict.reason,
        summary=verdict.reason if metric is None else f"{verdict.reason}; metric {metric}",
        candidates=tuple(
            CauseCandidate(
                service=c.service,
                score=round(c.score, 4),
                evidence=round(c.evidence, 4),
                explained_by=c.explained_by,
                metrics=tuple(m for m, _ in c.metrics),
            )
            for c in verdict.candidates[:5]
        ),
    )


def _lstm_sequences(
    model: FailureModel, columns: Mapping[str, FloatArray], last: int
) -> FloatArray | None:
    lstm = next(
        (
            m
            for h in model.horizons.values()
            for m in h.members.values()
            if isinstance(m, LstmMember)
        ),
        None,
    )
    if lstm is None or last + 1 < SEQUENCE_LENGTH * POINTS_PER_HOUR:
        return None
    rows = np.arange(last - (SEQUENCE_LENGTH - 1) * POINTS_PER_HOUR, last + 1, POINTS_PER_HOUR)
    block = assemble(model.feature_names, columns, rows)
    out: FloatArray = np.nan_to_num(block[:, lstm.columns])[None]
    return out


def score_fleet(
    fleet: FleetData,
    models: Sequence[FailureModel],
    services: Sequence[str] | None = None,
    *,
    explain: bool = True,
    at_ms: int | None = None,
) -> list[list[ServiceScore]]:
    """Every model's answer for each service at the last grid point (one list per model),
    stamped `at_ms` (default: that point's time).

    Services without a single sample in the last hour are skipped: no data, no prediction.
    """
    n = len(fleet.ts_ms)
    if n == 0:
        return [[] for _ in models]
    sources: Sources = {}
    _, columns = fleet_features(fleet, sources=sources)
    last = n - 1
    deps = {name: s.dependencies for name, s in fleet.services.items()}
    chosen = [
        s
        for s in (services or sorted(fleet.services))
        if any(np.isfinite(v[-POINTS_PER_HOUR:]).any() for v in fleet.services[s].metrics.values())
    ]
    verdicts: dict[str, RootCause] = {}
    if explain:
        for s in chosen:
            around = [s, *fleet.transitive_dependencies(s)]
            evidence = {
                c: service_evidence(fleet.services[c].metrics, last, slow=c == s) for c in around
            }
            verdicts[s] = rank_root_causes(s, deps, evidence)
    out: list[list[ServiceScore]] = []
    for model in models:
        X = np.vstack(
            [assemble(model.feature_names, columns[s], np.array([last])) for s in chosen]
        ) if chosen else np.empty((0, len(model.feature_names)))  # fmt: skip
        found = [_lstm_sequences(model, columns[s], last) for s in chosen]
        present = [q for q in found if q is not None]
        seqs = np.vstack(present) if present and len(present) == len(found) else None
        answers = model.predict(X, seqs)
        contributions = {
            h: model.contributions(X, h) if explain and len(X) else None for h in model.horizons
        }
        scores = []
        for i, (service, answer) in enumerate(zip(chosen, answers, strict=True)):
            factors: dict[int, list[Factor]] = {}
            drivers = drivers_at(sources[service], last)
            for h, contrib in contributions.items():
                factors[h] = (
                    top_factors(model.feature_names, X[i], contrib[i], TOP_FACTORS, drivers)
                    if contrib is not None
                    else []
                )
            main = factors.get(24) or next(iter(factors.values()), [])
            verdict = verdicts.get(service)
            scores.append(
                ServiceScore(
                    service=service,
                    ts_ms=int(fleet.ts_ms[last]) if at_ms is None else at_ms,
                    probability=answer.probability,
                    alarm=answer.alarm,
                    thresholds={h: m.threshold for h, m in model.horizons.items()},
                    incident_type=answer.incident_type,
                    confidence=answer.type_confidence,
                    risk_level=predicted_level(answer.probability),
                    factors={h: [explained(f) for f in fs] for h, fs in factors.items()},
                    root_cause=root_cause_answer(verdict, main) if verdict else None,
                    members=model.describe_members(),
                )
            )
        out.append(scores)
    return out


def check_features(model: FailureModel, features: Mapping[str, float]) -> None:
    """422 naming every unknown or non-finite feature."""
    known = set(model.feature_names)
    problems = [
        {"field": f"body.features.{name}", "msg": "unknown feature for the active model"}
        for name in features
        if name not in known
    ]
    problems += [
        {"field": f"body.features.{name}", "msg": "must be a finite number"}
        for name, value in features.items()
        if name in known and not math.isfinite(value)
    ]
    if problems:
        raise ValidationFailed(problems)


def score_features(model: FailureModel, features: Mapping[str, float]) -> ServiceScore:
    """The model's answer for one hand-given feature row (missing features count as unknown)."""
    check_features(model, features)
    X = model.align([features])
    answer = model.predict(X)[0]
    factors = {}
    for h in model.horizons:
        contrib = model.contributions(X, h)
        factors[h] = (
            [explained(f) for f in top_factors(model.feature_names, X[0], contrib[0])]
            if contrib is not None
            else []
        )
    return ServiceScore(
        service="",
        ts_ms=0,
        probability=answer.probability,
        alarm=answer.alarm,
        thresholds={h: m.threshold for h, m in model.horizons.items()},
        incident_type=answer.incident_type,
        confidence=answer.type_confidence,
        risk_level=predicted_level(answer.probability),
        factors=factors,
        members={
            **model.describe_members(),
            # One row carries no day of history, so a sequence member cannot take part.
            "members": [m for m in model.members if m != "lstm"],
        },
    )
