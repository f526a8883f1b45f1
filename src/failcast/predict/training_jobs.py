"""Requested trainings as jobs with a state: queued, running, succeeded or failed, and for a
failure the reason and what to do about it, so that the API and the Models page can say why
no new version appeared instead of leaving it to the server log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth.principal import CanRead
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.deps import PathId, SessionDep
from failcast.errors import FailcastError, NotFound
from failcast.models import ModelVersion, TrainingJob, TrainingSource, TrainingState

log = logging.getLogger("failcast.predict")

# What a person can do about the failures training reports (predict/registry.py's messages).
NO_INCIDENTS_ADVICE = (
    "The model learns from past incidents. Import them (POST /api/v1/incidents/import), mark"
    " resolved alerts as incidents (POST /api/v1/alerts/{id}/incident, or on the Alerts page),"
    " or train on simulated history (source: simulator) while the simulated fleet runs."
)
NO_METRICS_ADVICE = (
    "Send metrics first (POST /api/v1/metrics, Prometheus remote write or OTLP), or train on"
    " simulated history (source: simulator) while the simulated fleet runs."
)
_ADVICE = (("no incidents", NO_INCIDENTS_ADVICE), ("no services with metrics", NO_METRICS_ADVICE))


def advice(reason: str | None) -> str | None:
    """How to get past a failed training's `reason`, when it is one a person can fix."""
    text = (reason or "").lower()
    return next((hint for mark, hint in _ADVICE if mark in text), None)


class TrainingJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    state: TrainingState
    source: TrainingSource = Field(
        description="Where the training data comes from: database or simulator."
    )
    days: int = Field(description="Days of history it trains on.")
    reason: str | None = Field(description="Why it failed.")
    advice: str | None = Field(description="What to do about the failure, when it can be fixed.")
    model_version: int | None = Field(description="The version it registered.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def job_out(row: TrainingJob) -> TrainingJobOut:
    return TrainingJobOut(
        id=row.id,
        state=row.state,
        source=row.source,
        days=row.days,
        reason=row.reason,
        advice=advice(row.reason) if row.state == TrainingState.failed else None,
        model_version=row.model_version,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


async def queue(
    session: AsyncSession, org_id: int, source: TrainingSource, days: int
) -> TrainingJob:
    """A new queued job; the caller commits and submits the training with its id."""
    row = TrainingJob(
        org_id=org_id,
        state=TrainingState.queued,
        source=source,
        days=days,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    return row


async def _finish(database: Database, job_id: int, state: TrainingState, **values: object) -> None:
    async with session_scope(database) as session:
        row = await session.get(TrainingJob, job_id)
        if row is None:
            return
        row.state = state
        for key, value in values.items():
            setattr(row, key, value)


async def run_tracked(
    database: Database, job_id: int, train: Callable[[], Awaitable[ModelVersion]]
) -> None:
    """Run `train`, recording in the job that it runs, then the version or why it failed.

    A refusal (no incidents, no metrics) is the job's answer, not a server error: it is
    recorded and logged without a traceback. Anything else is recorded and raised again.
    """
    await _finish(database, job_id, TrainingState.running, started_at=datetime.now(UTC))
    try:
        version = await train()
    except asyncio.CancelledError:
        reason = "stopped with the server before it finished; train again"
        await _finish(
            database, job_id, TrainingState.failed, reason=reason, finished_at=datetime.now(UTC)
        )
        raise
    except FailcastError as exc:
        reason = str(exc.detail)
        log.info("training refused", extra={"job_id": job_id, "reason": reason})
        await _finish(
            database, job_id, TrainingState.failed, reason=reason, finished_at=datetime.now(UTC)
        )
        return
    except Exception as exc:
        reason = f"internal error ({type(exc).__name__}); the server log has the details"
        await _finish(
            database, job_id, TrainingState.failed, reason=reason, finished_at=datetime.now(UTC)
        )
        raise
    await _finish(
        database,
        job_id,
        TrainingState.succeeded,
        model_version=version.version,
        finished_at=datetime.now(UTC),
    )


router = APIRouter(prefix="/api/v1/training-jobs", tags=["prediction"])


@router.get("", response_model=list[TrainingJobOut], operation_id="list_training_jobs")
async def list_training_jobs(
    principal: CanRead,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[TrainingJobOut]:
    """The org's requested trainings, newest first, with their state and any failure."""
    rows = await session.scalars(
        select(TrainingJob)
        .where(TrainingJob.org_id == principal.org_id)
        .order_by(TrainingJob.id.desc())
        .limit(limit)
    )
    return [job_out(row) for row in rows]


@router.get("/{job_id}", response_model=TrainingJobOut, operation_id="get_training_job")
async def get_training_job(
    job_id: PathId, principal: CanRead, session: SessionDep
) -> TrainingJobOut:
    """One training: queued, running, succeeded (with its version) or failed (with why)."""
    row = await session.get(TrainingJob, job_id)
    if row is None or row.org_id != principal.org_id:
        raise NotFound("training job not found")
    return job_out(row)
