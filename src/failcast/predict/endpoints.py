"""The prediction API: predict, stored predictions, and the model registry."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, status

from failcast.auth.principal import CanAdmin, CanRead
from failcast.db.transactions import after_commit
from failcast.deps import ModelCacheDep, PathId, RunnerDep, SessionDep, TopologyDep
from failcast.detect.roles import ROLES, metric_role
from failcast.errors import Conflict
from failcast.kit.responses import errors
from failcast.models import MetricDeclaration, ModelVersion, Organization
from failcast.predict import declarations, registry, repository, scoring, service, training_jobs
from failcast.predict.schemas import (
    HorizonOut,
    MetricRoleIn,
    MetricRoleList,
    MetricRoleOut,
    ModelDetail,
    ModelList,
    ModelOut,
    PredictIn,
    PredictionList,
    PredictionOut,
    PredictOut,
    PromoteIn,
    TrainAccepted,
    TrainIn,
)
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime, now_ms

router = APIRouter(prefix="/api/v1", tags=["prediction"])

STAGES = {"active": "production", "candidate": "shadow", "retired": "retired"}


def _model_out(row: ModelVersion) -> ModelOut:
    return ModelOut(
        id=row.version,
        version=row.version,
        status=row.status,
        stage=STAGES.get(row.status, row.status),
        source=row.source,
        horizons=list(row.horizons),
        features=len(row.features),
        train_start=row.train_start,
        train_end=row.train_end,
        created_at=row.created_at,
        promoted_at=row.promoted_at,
        retired_at=row.retired_at,
        metrics=registry.metrics_summary(row.metrics),
        members=list(row.meta.get("members", [])),
        lstm=str(row.meta.get("lstm", "")),
        reliability=[list(b) for b in row.meta.get("reliability", [])],
        gate=row.meta.get("gate"),
        forced_by=row.forced_by,
        forced_reason=row.forced_reason,
        forced_at=row.forced_at,
    )


@router.post(
    "/predict",
    response_model=PredictOut,
    operation_id="predict",
    responses=errors(404, 409, 402),
)
async def predict(
    body: PredictIn,
    principal: CanRead,
    session: SessionDep,
    cache: ModelCacheDep,
    topology: TopologyDep,
) -> PredictOut:
    """P(failure) per horizon with risk level, incident type, top factors and root cause."""
    if body.service is not None:
        await teams.require_visible(session, principal, body.service, "service")
    version, model = await registry.active_model(session, principal.org_id, cache)
    if body.features is not None:
        score = scoring.score_features(model, body.features)
    else:
        assert body.service is not None
        score = await service.score_service(
            session, principal.org_id, body.service, now_ms(), model, topology
        )
    return PredictOut(
        service=score.service or None,
        ts=ms_to_datetime(score.ts_ms) if score.ts_ms else None,
        model_version=version.version,
        horizons=[
            HorizonOut(
                hours=h,
                probability=p,
                alarm=score.alarm[h],
                threshold=score.thresholds[h],
                factors=score.factors.get(h, []),
            )
            for h, p in sorted(score.probability.items())
        ],
        probabilities={str(h): p for h, p in sorted(score.probability.items())},
        risk_level=score.risk_level,
        incident_type=score.incident_type,
        confidence=score.confidence,
        root_cause=score.root_cause,
        members=list(score.members.get("members", [])),
        lstm=str(score.members.get("lstm", "")),
    )


@router.get("/predictions", response_model=PredictionList, operation_id="list_predictions")
async def list_predictions(
    principal: CanRead,
    session: SessionDep,
    service_name: Annotated[str | None, Query(alias="service", max_length=128)] = None,
    matched: Annotated[
        bool | None, Query(description="true: outcome known; false: horizon not passed yet")
    ] = None,
    horizon: Annotated[int | None, Query(ge=1, le=720)] = None,
    shadow: bool = False,
    latest: Annotated[
        bool | None,
        Query(description="Only each service's newest round (default: yes unless matched is set)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> PredictionList:
    """Stored predictions, newest first, with their outcome once the horizon has passed."""
    rows = await repository.predictions(
        session, principal.org_id, service=service_name, matched=matched, horizon=horizon,
        shadow=shadow, latest=latest if latest is not None else matched is None, limit=limit,
        seen=await teams.visibility(session, principal),
    )  # fmt: skip
    return PredictionList(
        items=[
            PredictionOut(
                id=p.id,
                service=name,
                ts=p.ts,
                horizon_hours=p.horizon_h,
                probability=p.probability,
                alarm=p.alarm,
                failure_type=p.incident_type,
                confidence=p.confidence,
                risk_level=p.risk_level,
                model_version=version,
                shadow=p.shadow,
                factors=p.factors,
                root_cause=p.root_cause,
                matched=p.outcome is not None,
                outcome=p.outcome,
                correct=None if p.outcome is None else p.outcome == p.alarm,
            )
            for p, name, version in rows
        ]
    )


@router.get("/models", response_model=ModelList, operation_id="list_models")
async def list_models(principal: CanRead, session: SessionDep) -> ModelList:
    """Every model version of the org, newest first."""
    rows = await repository.versions(session, principal.org_id)
    return ModelList(items=[_model_out(r) for r in rows])


@router.get("/models/{version}", response_model=ModelDetail, operation_id="get_model")
async def get_model(version: PathId, principal: CanRead, session: SessionDep) -> ModelDetail:
    """One version with all its figures and, for a candidate, its shadow comparison."""
    row = await repository.get_version(session, principal.org_id, version)
    return ModelDetail(
        **_model_out(row).model_dump(),
        figures=row.metrics,
        thresholds=dict(row.meta.get("thresholds", {})),
        incident_types=list(row.meta.get("incident_types", [])),
        feature_names=list(row.features),
        shadow=await registry.shadow_comparison(session, principal.org_id, row),
    )


@router.post(
    "/models/{version}/promote",
    response_model=ModelOut,
    operation_id="promote_model",
    responses=errors(409, 422),
)
async def promote_model(
    version: PathId, principal: CanAdmin, session: SessionDep, body: PromoteIn | None = None
) -> ModelOut:
    """Make this version the active model; the previous one is retired.

    A version that is worse than the active model or than climatology on its held-out test
    (AUC-PR, Brier skill), or whose alarms catch nothing, fails the promotion gate: 409, unless
    `force` is set with a `reason`; the registry then records who forced it and why. A version
    trained on another grid than the five-minute one of stored metrics cannot serve live
    predictions and is refused with 409 whatever `force` says.
    """
    options = body or PromoteIn()
    row = await registry.promote(
        session, principal.org_id, version, datetime.now(UTC),
        force=options.force, reason=options.reason, actor=principal.label,
    )  # fmt: skip
    return _model_out(row)


@router.post(
    "/models/{version}/rollback",
    response_model=ModelOut,
    operation_id="rollback_model",
    responses=errors(409),
)
async def rollback_model(version: PathId, principal: CanAdmin, session: SessionDep) -> ModelOut:
    """Retire this active version and bring back the one active before it (returned)."""
    row = await registry.rollback(session, principal.org_id, version, datetime.now(UTC))
    return _model_out(row)


@router.post(
    "/models/train",
    response_model=TrainAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="train_model",
    responses=errors(409),
)
async def train_model(
    body: TrainIn, principal: CanAdmin, session: SessionDep, runner: RunnerDep
) -> TrainAccepted:
    """Train a new version in the background; it joins as a candidate (or goes live if first).

    With `source: "simulator"` it learns from simulated history of the org's simulated fleet
    (409 when the org does not run one), which needs no stored history: a new org can have a
    model within a minute of starting the fleet.
    """
    source = body.source or registry.training_source()
    if source == "simulator":
        org = await session.get_one(Organization, principal.org_id)
        if body.source == "simulator" and not org.simulator_enabled:
            raise Conflict(
                "simulated history describes the simulated fleet, which this organisation does"
                " not run; start it with PUT /api/v1/chaos/simulator"
            )
    days = body.days or (
        registry.SIMULATED_TRAINING_DAYS
        if source == "simulator"
        else registry.DEFAULT_TRAINING_DAYS
    )
    job = await training_jobs.queue(session, principal.org_id, source, days)
    # The job reads its queued row: submit it once that row is committed.
    after_commit(
        session,
        partial(
            runner.submit,
            "predict.train",
            org_id=principal.org_id,
            days=days,
            source=source,
            job_id=job.id,
        ),
    )
    return TrainAccepted(status="queued", source=source, days=days, job_id=job.id)


def _declaration_out(row: MetricDeclaration) -> MetricRoleOut:
    read = metric_role(row.metric, role=row.role, limit=row.limit_value)
    return MetricRoleOut(
        metric=row.metric,
        service=row.service or None,
        role=row.role,
        limit=row.limit_value,
        read_as={
            "role": read.role,
            "direction": read.direction,
            "counter": read.counter,
            "limit": read.limit,
        },
    )


@router.get("/metric-roles", response_model=MetricRoleList, operation_id="list_metric_roles")
async def list_metric_roles(principal: CanRead, session: SessionDep) -> MetricRoleList:
    """The roles and limits the organisation declared for its metrics."""
    seen = await teams.visibility(session, principal)
    rows = await repository.declaration_rows(session, principal.org_id, seen)
    return MetricRoleList(items=[_declaration_out(r) for r in rows], roles=list(ROLES))


@router.put("/metric-roles", response_model=MetricRoleOut, operation_id="declare_metric_role")
async def declare_metric_role(
    body: MetricRoleIn, principal: CanAdmin, session: SessionDep
) -> MetricRoleOut:
    """Declare what a metric is (its role) and where the service breaks (its limit), in place
    of what its name suggests; prediction reads it so from the next scoring round and training."""
    row = await declarations.declare_metric(
        session, principal.org_id, body.metric, service=body.service or "", role=body.role,
        limit=body.limit,
    )  # fmt: skip
    return _declaration_out(row)


@router.delete(
    "/metric-roles",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="forget_metric_role",
    responses=errors(404),
)
async def forget_metric_role(
    principal: CanAdmin,
    session: SessionDep,
    metric: Annotated[str, Query(min_length=1, max_length=200)],
    service_name: Annotated[str | None, Query(alias="service", max_length=128)] = None,
) -> None:
    """Remove a declaration: the metric is read from its name again."""
    await declarations.forget_metric(session, principal.org_id, metric, service_name or "")
