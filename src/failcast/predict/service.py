"""The prediction domain's rules: train and register models, promote and roll back, score
every service with the active model (and candidates in shadow), and match predictions
against the incidents that followed.

Labels come from the `incident` table when the schema has one (checked at import); without
it the database path trains on the built-in simulator's history instead and records
`source: "simulator"` on the model version.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.errors import Conflict, NotFound, ValidationFailed
from failcast.explain import Factor, RootCause, rank_root_causes, service_evidence, top_factors
from failcast.models import FailurePrediction, MetricDeclaration, ModelStatus, ModelVersion
from failcast.predict import gate, repository
from failcast.predict.calibration import brier
from failcast.predict.dataset import (
    HISTORY_POINTS,
    POINTS_PER_HOUR,
    STEP_MS,
    Dataset,
    FleetData,
    Sources,
    assemble,
    build_dataset,
    drivers_at,
    fleet_features,
)
from failcast.predict.labels import HOUR_MS, FloatArray, IncidentLike
from failcast.predict.members import SEQUENCE_LENGTH, LstmMember
from failcast.predict.model import FailureModel, IncompatibleArtifact, json_safe
from failcast.predict.risk import predicted_level
from failcast.predict.simulated import simulated_history
from failcast.predict.training import TrainConfig, TrainResult, evaluate, train
from failcast.timeutil import ms_to_datetime

log = logging.getLogger("failcast.predict")

DAY_MS = 24 * HOUR_MS
DEFAULT_TRAINING_DAYS = 60
# Simulated history to train on when none is asked for: about 15 s of training on two cores,
# and enough incidents (about 30 in a fleet of 12) for the validation split to hold some.
SIMULATED_TRAINING_DAYS = 30
TOP_FACTORS = 5


class ModelCache:
    """Deserialised artifacts by model version id; artifacts never change once stored."""

    def __init__(self) -> None:
        self._models: dict[int, FailureModel] = {}

    def get(self, row: ModelVersion) -> FailureModel:
        model = self._models.get(row.id)
        if model is None:
            try:
                model = FailureModel.from_bytes(row.artifact)
            except IncompatibleArtifact as exc:
                raise Conflict(f"model version {row.version}: {exc}") from None
            self._models[row.id] = model
        return model


def grid_step_ms(model: FailureModel) -> int:
    """The grid step the model was trained on (models that predate the record: five minutes)."""
    return int(model.meta.get("step_ms", STEP_MS))


def live_grid_problem(model: FailureModel) -> str | None:
    """Why the model cannot score stored metrics live, or None when it can."""
    step = grid_step_ms(model)
    if step == STEP_MS:
        return None
    return (
        f"the model was trained on a grid of {format_step(step)}, and live prediction reads"
        f" stored metrics on a grid of {format_step(STEP_MS)}, where its windows would mean"
        " other spans of time. Train on the five-minute grid (`--step 5m`, or on the org's"
        " stored metrics) to predict live; the model still scores files of its own grid"
        " (`failcast backtest --data DIR --step ...`)."
    )


def format_step(step_ms: int) -> str:
    """A grid step in words: "5 minutes", "1 hour", "1 day"."""
    for unit, ms in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000)):
        if step_ms % ms == 0:
            n = step_ms // ms
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{step_ms} ms"


# ---------------------------------------------------------------- training and the registry


def training_source() -> str:
    """Where database-backed training takes its labels from."""
    return "database" if repository.INCIDENT_MODEL is not None else "simulator"


def metrics_summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Flat headline figures (24 h on the held-out test split) for lists and dashboards."""
    test = metrics.get("test", {}).get("24h") or metrics.get("validation", {}).get("24h") or {}
    keys = ("precision", "recall", "f1", "auc_pr", "brier", "lead_h_median")
    out = {k: test[k] for k in keys if k in test and _finite(test[k])}
    kind = metrics.get("test", {}).get("type") or {}
    for key in ("accuracy", "majority_accuracy"):
        if _finite(kind.get(key)):
            out[f"type_{key}"] = kind[key]
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


async def register(
    session: AsyncSession,
    org_id: int,
    result: TrainResult,
    *,
    source: str,
    now: datetime,
) -> ModelVersion:
    """Store a trained model. The org's first model goes live at once if it passes the
    promotion gate (there is nothing to run beside it in shadow) and was trained on the live
    grid; every other one starts as a candidate."""
    model = result.model
    has_active = bool(await repository.with_status(session, org_id, ModelStatus.active))
    metrics = json_safe(dict(result.metrics))
    verdict = gate.judge(metrics, metrics.get("active_on_test"))
    live = not has_active and verdict.passed and live_grid_problem(model) is None
    row = ModelVersion(
        org_id=org_id,
        version=await repository.next_version(session, org_id),
        status=(ModelStatus.active if live else ModelStatus.candidate).value,
        source=source,
        features=list(model.feature_names),
        horizons=sorted(model.horizons),
        train_start=ms_to_datetime(result.splits.start),
        train_end=ms_to_datetime(result.splits.end),
        metrics=metrics,
        meta=json_safe(
            {
                **model.describe_members(),
                "thresholds": {f"{h}h": m.threshold for h, m in model.horizons.items()},
                "incident_types": model.type_model.classes,
                "reliability": result.metrics["validation"].get("24h", {}).get("reliability", []),
                "gate": verdict.to_dict(),
            }
        ),
        artifact=model.to_bytes(),
        promoted_at=now if live else None,
    )
    session.add(row)
    await session.flush()
    return row


async def train_org(
    session: AsyncSession,
    org_id: int,
    now_ms: int,
    *,
    days: int = DEFAULT_TRAINING_DAYS,
    config: TrainConfig | None = None,
    seed: int = 7,
    source: str | None = None,
    topology: repository.TopologyProvider | None = None,
) -> ModelVersion:
    """Train on the org's last `days` of data and incidents (or, with source "simulator", on
    simulated history of a fleet of the org's size) and register the result. `topology` gives
    the org's merged dependency graph (see `repository.dependencies`)."""
    end = now_ms - now_ms % STEP_MS
    start = end - days * DAY_MS
    source = source or training_source()
    if source == "database":
        fleet = await repository.load_fleet(session, org_id, start, end, topology)
        lo, hi = repository.window(start, end)
        labels: Sequence[IncidentLike] = await repository.incidents(session, org_id, lo, hi)
        if not fleet.services:
            raise Conflict("the org has no services with metrics to train on")
        if not labels:
            raise Conflict(f"no incidents recorded in the last {days} days: nothing to learn from")
    else:
        count = len(await repository.services(session, org_id)) or 12
        history = simulated_history(days, count, seed)
        fleet, labels = history.fleet, history.incidents
    active = await repository.with_status(session, org_id, ModelStatus.active)
    current = _loadable(active[0]) if active else None
    await end_reads(session)
    result = await asyncio.to_thread(_train, fleet, labels, config or TrainConfig(), current)
    if "active_on_test" in result.metrics:
        result.metrics["active_on_test_version"] = active[0].version
    row = await register(session, org_id, result, source=source, now=ms_to_datetime(now_ms))
    await session.commit()
    return row


async def train_on_history(
    session: AsyncSession,
    org_id: int,
    fleet: FleetData,
    labels: Sequence[IncidentLike],
    now_ms: int,
    *,
    config: TrainConfig | None = None,
    source: str = "imported",
) -> ModelVersion:
    """Train on history given in full (imported files) and register the result for the org."""
    if not labels:
        raise Conflict("the history holds no incidents: nothing to learn from")
    active = await repository.with_status(session, org_id, ModelStatus.active)
    current = _loadable(active[0]) if active else None
    await end_reads(session)
    result = await asyncio.to_thread(_train, fleet, labels, config or TrainConfig(), current)
    if "active_on_test" in result.metrics:
        result.metrics["active_on_test_version"] = active[0].version
    row = await register(session, org_id, result, source=source, now=ms_to_datetime(now_ms))
    await session.commit()
    return row


async def end_reads(session: AsyncSession) -> None:
    """End the read transaction before long CPU work: on SQLite an open transaction holds the
    database's write lock, and training or scoring for seconds would stall every writer."""
    await session.commit()


def _loadable(row: ModelVersion) -> FailureModel | None:
    try:
        return FailureModel.from_bytes(row.artifact)
    except IncompatibleArtifact:
        return None


def _train(
    fleet: FleetData,
    labels: Sequence[IncidentLike],
    config: TrainConfig,
    active: FailureModel | None = None,
) -> TrainResult:
    ds = build_dataset(fleet, labels, config.horizons)
    result = train(ds, config)
    compare_on_test(result, ds, active)
    return result


def compare_on_test(result: TrainResult, ds: Dataset, active: FailureModel | None) -> None:
    """Add the active model's figures on the new model's test rows to its metrics, for the
    promotion gate (when the active model reads the same features and horizons)."""
    if active is None or result.splits.test_start > result.splits.end:
        return
    if active.feature_names != result.model.feature_names:
        return
    horizons = [h for h in result.model.horizons if h in active.horizons]
    if horizons:
        result.metrics["active_on_test"] = evaluate(
            active, ds, result.splits.test_start, result.splits.end, horizons
        )


async def promotion_verdict(session: AsyncSession, org_id: int, row: ModelVersion) -> gate.Verdict:
    """The promotion gate's verdict on `row` against today's active model: on the same test
    rows when they were measured at training time, else on the active model's own test."""
    active = [
        a
        for a in await repository.with_status(session, org_id, ModelStatus.active)
        if a.id != row.id
    ]
    theirs = None
    if active:
        same_rows = row.metrics.get("active_on_test")
        trained_beside = row.metrics.get("active_on_test_version")
        theirs = same_rows if same_rows and trained_beside == active[0].version else None
        theirs = theirs or active[0].metrics.get("test")
    return gate.judge(row.metrics, theirs)


async def promote(
    session: AsyncSession,
    org_id: int,
    version: int,
    now: datetime,
    *,
    force: bool = False,
    reason: str | None = None,
    actor: str = "",
) -> ModelVersion:
    """Make `version` the active model; the one it replaces is retired and remembered, so a
    rollback can bring it back. A version that fails the promotion gate needs `force` and a
    `reason`, which are recorded with `actor`."""
    row = await repository.get_version(session, org_id, version)
    if row.status == ModelStatus.active.value:
        raise Conflict(f"version {version} is already active")
    problem = live_grid_problem(ModelCache().get(row))
    if problem is not None:
        raise Conflict(f"version {version} cannot be the active model: {problem}")
    verdict = await promotion_verdict(session, org_id, row)
    if not verdict.passed:
        if not force:
            raise Conflict(
                f"version {version} fails the promotion gate: {'; '.join(verdict.reasons)}."
                " Promote it anyway with force and a reason."
            )
        if not (reason and reason.strip()):
            raise ValidationFailed(
                [{"field": "body.reason", "msg": "forcing a promotion needs a reason"}]
            )
        row.forced_by = actor or "unknown"
        row.forced_reason = reason.strip()
        row.forced_at = now
    replaced = None
    for current in await repository.with_status(session, org_id, ModelStatus.active):
        current.status = ModelStatus.retired.value
        current.retired_at = now
        replaced = current.version
    row.status = ModelStatus.active.value
    row.promoted_at = now
    row.retired_at = None
    # A new dict, so the JSON column sees the change.
    row.meta = {**row.meta, "replaced_version": replaced, "gate": verdict.to_dict()}
    await session.commit()
    return row


async def rollback(session: AsyncSession, org_id: int, version: int, now: datetime) -> ModelVersion:
    """Retire the active `version` and reactivate the version it replaced (returned)."""
    row = await repository.get_version(session, org_id, version)
    if row.status != ModelStatus.active.value:
        raise Conflict(f"version {version} is not the active model")
    previous = row.meta.get("replaced_version")
    if previous is None:
        raise Conflict(f"version {version} replaced no earlier model: nothing to roll back to")
    target = await repository.get_version(session, org_id, int(previous))
    row.status = ModelStatus.retired.value
    row.retired_at = now
    row.meta = {**row.meta, "rolled_back_at": now.isoformat()}
    target.status = ModelStatus.active.value
    target.retired_at = None
    await session.commit()
    return target


async def shadow_comparison(
    session: AsyncSession, org_id: int, row: ModelVersion
) -> dict[str, Any] | None:
    """How a candidate's shadow predictions compare with the active model's on the same cases."""
    if row.status != ModelStatus.candidate.value:
        return None
    active = await repository.with_status(session, org_id, ModelStatus.active)
    if not active:
        return None
    pairs = await repository.paired(session, org_id, row.id, active[0].id)
    out: dict[str, Any] = {"against_version": active[0].version, "cases": len(pairs)}
    if not pairs:
        return out
    cand = np.array([c.probability for c, _ in pairs])
    act = np.array([a.probability for _, a in pairs])
    out["mean_abs_difference"] = float(np.mean(np.abs(cand - act)))
    out["alarm_agreement"] = float(np.mean([c.alarm == a.alarm for c, a in pairs]))
    resolved = [(c, a) for c, a in pairs if c.outcome is not None]
    out["resolved_cases"] = len(resolved)
    if resolved:
        y = np.array([bool(c.outcome) for c, _ in resolved])
        out["brier_candidate"] = brier([c.probability for c, _ in resolved], y)
        out["brier_active"] = brier([a.probability for _, a in resolved], y)
    return out


# ---------------------------------------------------------------- metric roles


async def declare_metric(
    session: AsyncSession,
    org_id: int,
    metric: str,
    *,
    service: str = "",
    role: str | None = None,
    limit: float | None = None,
) -> MetricDeclaration:
    """Set (or replace) the role and limit the org declares for `metric` (of `service`, or of
    every service with "")."""
    if role is None and limit is None:
        raise ValidationFailed(
            [{"field": "body", "msg": "declare a role, a limit or both; DELETE removes one"}]
        )
    row = await repository.declaration(session, org_id, service, metric)
    if row is None:
        row = MetricDeclaration(org_id=org_id, service=service, metric=metric)
        session.add(row)
    row.role, row.limit_value = role, limit
    await session.commit()
    return row


async def forget_metric(session: AsyncSession, org_id: int, metric: str, service: str) -> None:
    row = await repository.declaration(session, org_id, service, metric)
    if row is None:
        raise NotFound(f"no declaration for {metric!r}" + (f" of {service}" if service else ""))
    await session.delete(row)
    await session.commit()


# ---------------------------------------------------------------- scoring


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
    factors: dict[int, list[Factor]]
    root_cause: dict[str, Any] | None = None
    members: dict[str, Any] = field(default_factory=dict)


def root_cause_answer(verdict: RootCause, factors: Sequence[Factor]) -> dict[str, Any]:
    """The RCA verdict, with the failing service's most contributing metric when it is its own
    cause (contributions name the metric better than a single anomaly reading)."""
    metric = verdict.metric
    if verdict.cause == verdict.service:
        own = [f for f in factors if f.metric is not None and f.contribution > 0]
        metric = own[0].metric if own else metric
    return {
        "verdict": verdict.verdict,
        "service": verdict.cause,
        "metric": metric,
        "margin": round(verdict.margin, 4),
        "reason": verdict.reason,
        "summary": verdict.reason if metric is None else f"{verdict.reason}; metric {metric}",
        "candidates": [
            {
                "service": c.service,
                "score": round(c.score, 4),
                "evidence": round(c.evidence, 4),
                "explained_by": c.explained_by,
                "metrics": [m for m, _ in c.metrics],
            }
            for c in verdict.candidates[:5]
        ],
    }


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
                    factors=factors,
                    root_cause=root_cause_answer(verdict, main) if verdict else None,
                    members=model.describe_members(),
                )
            )
        out.append(scores)
    return out


def live_window(now_ms: int) -> tuple[int, int]:
    """[start, end) of the grid a live prediction reads: a week of five-minute buckets, the
    last of them the current one with the minutes of it that have passed. A failure that began
    a minute ago is in the prediction at once rather than when its bucket closes."""
    end = now_ms - now_ms % STEP_MS + STEP_MS
    return end - HISTORY_POINTS * STEP_MS, end


async def load_live(
    session: AsyncSession,
    org_id: int,
    now_ms: int,
    topology: repository.TopologyProvider | None = None,
) -> FleetData:
    """The org's fleet on the live window. The current bucket fills as samples arrive: a
    metric that has not reported in it yet keeps its value of the bucket before, rather than
    reading as missing (a client reporting every minute is silent for the first minute of
    every bucket)."""
    start, end = live_window(now_ms)
    fleet = await repository.load_fleet(session, org_id, start, end, topology)
    for data in fleet.services.values():
        for values in data.metrics.values():
            if len(values) >= 2 and np.isnan(values[-1]):
                values[-1] = values[-2]
    return fleet


def _rows(
    org_id: int,
    service_ids: Mapping[str, int],
    version: ModelVersion,
    scores: Sequence[ServiceScore],
    shadow: bool,
) -> list[FailurePrediction]:
    rows = []
    for score in scores:
        for h, p in score.probability.items():
            rows.append(
                FailurePrediction(
                    org_id=org_id,
                    service_id=service_ids[score.service],
                    model_version_id=version.id,
                    shadow=shadow,
                    ts=ms_to_datetime(score.ts_ms),
                    horizon_h=h,
                    probability=float(p),
                    alarm=bool(score.alarm[h]),
                    incident_type=score.incident_type,
                    confidence=float(score.confidence),
                    risk_level=score.risk_level,
                    factors=[
                        {
                            "feature": f.feature,
                            "metric": f.metric,
                            "value": json_safe(f.value),
                            "contribution": f.contribution,
                            "statement": f.statement,
                        }
                        for f in score.factors.get(h, [])
                    ],
                    root_cause=score.root_cause,
                )
            )
    return rows


async def score_org(
    session: AsyncSession,
    org_id: int,
    now_ms: int,
    cache: ModelCache,
    only: Collection[int] | None = None,
    topology: repository.TopologyProvider | None = None,
) -> int:
    """Score every service (or the services whose ids are in `only`) with the active model, and
    each candidate in shadow; returns the number of predictions stored."""
    active = await repository.with_status(session, org_id, ModelStatus.active)
    if not active:
        return 0
    # A version of another grid than the live one is left out; an active one with a warning,
    # as the org then gets no new predictions.
    problem = live_grid_problem(cache.get(active[0]))
    if problem is not None:
        log.warning("org %s: active model version %s not scored: %s", org_id,
                    active[0].version, problem)  # fmt: skip
        return 0
    candidates = [
        c
        for c in await repository.with_status(session, org_id, ModelStatus.candidate)
        if live_grid_problem(cache.get(c)) is None
    ]
    versions = [active[0], *candidates]
    models = [cache.get(v) for v in versions]
    fleet = await load_live(session, org_id, now_ms, topology)
    service_ids = {s.name: s.id for s in await repository.services(session, org_id)}
    names = None
    if only is not None:
        names = [n for n, i in sorted(service_ids.items()) if i in only and n in fleet.services]
        if not names:
            return 0
    if not fleet.services:
        return 0
    await end_reads(session)
    results = await asyncio.to_thread(score_fleet, fleet, models, names, at_ms=now_ms)
    stored = 0
    for i, (version, scores) in enumerate(zip(versions, results, strict=True)):
        rows = _rows(org_id, service_ids, version, scores, shadow=i > 0)
        session.add_all(rows)
        stored += len(rows)
    await session.commit()
    return stored


async def resolve_org(session: AsyncSession, org_id: int, now: datetime) -> int:
    """Record, for every prediction whose horizon has passed, whether an incident followed."""
    due = await repository.unresolved(session, org_id, now)
    if not due:
        return 0
    lo = min(p.ts for p in due)
    hi = max(p.ts.timestamp() + p.horizon_h * 3600 for p in due)
    found = await repository.incidents(session, org_id, lo, ms_to_datetime(int(hi * 1000) + 1))
    service_ids = {s.name: s.id for s in await repository.services(session, org_id)}
    starts: dict[int, list[float]] = {}
    for incident in found:
        if incident.service in service_ids:
            starts.setdefault(service_ids[incident.service], []).append(incident.start)
    for p in due:
        t = p.ts.timestamp()
        p.outcome = any(t < s <= t + p.horizon_h * 3600 for s in starts.get(p.service_id, []))
        p.resolved_at = now
    await session.commit()
    return len(due)


# ---------------------------------------------------------------- on-demand prediction


async def active_model(
    session: AsyncSession, org_id: int, cache: ModelCache
) -> tuple[ModelVersion, FailureModel]:
    rows = await repository.with_status(session, org_id, ModelStatus.active)
    if not rows:
        raise Conflict(
            "no active model: train one with `failcast train --org` or POST /api/v1/models/train"
        )
    return rows[0], cache.get(rows[0])


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
            top_factors(model.feature_names, X[0], contrib[0]) if contrib is not None else []
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


async def score_service(
    session: AsyncSession,
    org_id: int,
    service: str,
    now_ms: int,
    model: FailureModel,
    topology: repository.TopologyProvider | None = None,
) -> ServiceScore:
    """The model's answer for one service from its (and its dependencies') last week of data."""
    fleet = await load_live(session, org_id, now_ms, topology)
    if service not in fleet.services:
        raise ValidationFailed([{"field": "body.service", "msg": f"unknown service {service!r}"}])
    problem = live_grid_problem(model)
    if problem is not None:  # 409: a model of another grid would read the wrong spans
        raise Conflict(f"cannot predict {service!r} live: {problem}")
    keep = {service, *fleet.transitive_dependencies(service)}
    fleet.services = {k: v for k, v in fleet.services.items() if k in keep}
    await end_reads(session)
    results = await asyncio.to_thread(score_fleet, fleet, [model], [service], at_ms=now_ms)
    if not results[0]:
        raise Conflict(f"{service} has no samples in the last hour: nothing to predict from")
    return results[0][0]


async def latest_predictions(
    session: AsyncSession, org_id: int, service: str | None = None
) -> list[dict[str, Any]]:
    """The active model's newest prediction of every service, one item per service with its
    probabilities per horizon: what dashboards and alert rules read."""
    rows = await repository.predictions(session, org_id, service=service, latest=True)
    by_service: dict[str, dict[str, Any]] = {}
    for p, name, version in rows:
        item = by_service.setdefault(
            name,
            {
                "service": name,
                "ts": p.ts,
                "model_version": version,
                "probabilities": {},
                "alarms": {},
                "incident_type": p.incident_type,
                "confidence": p.confidence,
                "risk_level": p.risk_level,
                "root_cause": p.root_cause,
                "factors": {},
            },
        )
        item["probabilities"][str(p.horizon_h)] = p.probability
        item["alarms"][str(p.horizon_h)] = p.alarm
        item["factors"][str(p.horizon_h)] = p.factors
    return list(by_service.values())
