"""The model registry: train on the org's incidents (or simulated history), register a
version, promote it through the gate or by force, roll back, compare candidates in shadow, and
keep what the org declared about its metrics.

Labels come from the `incident` table when the schema has one (checked at import); without
it the database path trains on the built-in simulator's history instead and records
`source: "simulator"` on the model version.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.transactions import release
from failcast.errors import Conflict, ValidationFailed
from failcast.models import ModelSource, ModelStatus, ModelVersion, TrainingSource
from failcast.predict import gate, repository
from failcast.predict.calibration import brier
from failcast.predict.dataset import (
    STEP_MS,
    Dataset,
    FleetData,
    build_dataset,
)
from failcast.predict.labels import HOUR_MS, IncidentLike
from failcast.predict.model import FailureModel, IncompatibleArtifact, json_safe
from failcast.predict.simulated import simulated_history
from failcast.predict.training import TrainConfig, TrainResult, evaluate, train
from failcast.timeutil import ms_to_datetime

log = logging.getLogger("failcast.predict")

DAY_MS = 24 * HOUR_MS

DEFAULT_TRAINING_DAYS = 60

SIMULATED_TRAINING_DAYS = 30


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


def training_source() -> TrainingSource:
    """Where training takes its labels from unless asked otherwise: the stored incidents."""
    return "database"


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
    source: ModelSource,
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
    source: TrainingSource | None = None,
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
    return await _train_and_register(session, org_id, fleet, labels, now_ms, config, source)


async def train_on_history(
    session: AsyncSession,
    org_id: int,
    fleet: FleetData,
    labels: Sequence[IncidentLike],
    now_ms: int,
    *,
    config: TrainConfig | None = None,
    source: ModelSource = "imported",
) -> ModelVersion:
    """Train on history given in full (imported files) and register the result for the org."""
    if not labels:
        raise Conflict("the history holds no incidents: nothing to learn from")
    return await _train_and_register(session, org_id, fleet, labels, now_ms, config, source)


async def _train_and_register(
    session: AsyncSession,
    org_id: int,
    fleet: FleetData,
    labels: Sequence[IncidentLike],
    now_ms: int,
    config: TrainConfig | None,
    source: ModelSource,
) -> ModelVersion:
    """Train on `fleet` and `labels` beside the org's live model and register the result."""
    active = await repository.with_status(session, org_id, ModelStatus.active)
    current = _loadable(active[0]) if active else None
    await end_reads(session)
    result = await asyncio.to_thread(_train, fleet, labels, config or TrainConfig(), current)
    if "active_on_test" in result.metrics:
        result.metrics["active_on_test_version"] = active[0].version
    row = await register(session, org_id, result, source=source, now=ms_to_datetime(now_ms))
    await session.flush()
    return row


async def end_reads(session: AsyncSession) -> None:
    """End the transaction before long CPU work (training, scoring): see `release`."""
    await release(session, "CPU-bound model work follows")


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
    if row.status == ModelStatus.active:
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
        current.status = ModelStatus.retired
        current.retired_at = now
        replaced = current.version
    row.status = ModelStatus.active
    row.promoted_at = now
    row.retired_at = None
    # A new dict, so the JSON column sees the change.
    row.meta = {**row.meta, "replaced_version": replaced, "gate": verdict.to_dict()}
    await session.flush()
    return row


async def rollback(session: AsyncSession, org_id: int, version: int, now: datetime) -> ModelVersion:
    """Retire the active `version` and reactivate the version it replaced (returned)."""
    row = await repository.get_version(session, org_id, version)
    if row.status != ModelStatus.active:
        raise Conflict(f"version {version} is not the active model")
    previous = row.meta.get("replaced_version")
    if previous is None:
        raise Conflict(f"version {version} replaced no earlier model: nothing to roll back to")
    target = await repository.get_version(session, org_id, int(previous))
    row.status = ModelStatus.retired
    row.retired_at = now
    row.meta = {**row.meta, "rolled_back_at": now.isoformat()}
    target.status = ModelStatus.active
    target.retired_at = None
    await session.flush()
    return target


async def shadow_comparison(
    session: AsyncSession, org_id: int, row: ModelVersion
) -> dict[str, Any] | None:
    """How a candidate's shadow predictions compare with the active model's on the same cases."""
    if row.status != ModelStatus.candidate:
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


async def active_model(
    session: AsyncSession, org_id: int, cache: ModelCache
) -> tuple[ModelVersion, FailureModel]:
    rows = await repository.with_status(session, org_id, ModelStatus.active)
    if not rows:
        raise Conflict(
            "no active model: train one with `failcast train --org` or POST /api/v1/models/train"
        )
    return rows[0], cache.get(rows[0])
