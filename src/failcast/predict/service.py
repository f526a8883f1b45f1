"""Prediction as a service: score every org's fleet on the live window with the active model
(and candidates in shadow) on schedule, store the predictions and match them against the
incidents that followed, and answer on-demand predictions for one service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.errors import Conflict, ValidationFailed
from failcast.models import FailurePrediction, ModelStatus, ModelVersion
from failcast.predict import repository
from failcast.predict.dataset import (
    HISTORY_POINTS,
    STEP_MS,
    FleetData,
)
from failcast.predict.model import FailureModel
from failcast.predict.registry import ModelCache, end_reads, live_grid_problem
from failcast.predict.scoring import ServiceScore, score_fleet
from failcast.signals import LatestPrediction
from failcast.timeutil import ms_to_datetime

log = logging.getLogger("failcast.predict")


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
                    factors=score.factors.get(h, []),
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
    await session.flush()
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
    await session.flush()
    return len(due)


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
) -> list[LatestPrediction]:
    """The active model's newest prediction of every service, one item per service with its
    probabilities per horizon: what dashboards and alert rules read."""
    rows = await repository.predictions(session, org_id, service=service, latest=True)
    by_service: dict[str, LatestPrediction] = {}
    for p, name, version in rows:
        item = by_service.get(name)
        if item is None:
            item = by_service[name] = LatestPrediction(
                service=name,
                ts=p.ts,
                model_version=version,
                incident_type=p.incident_type,
                confidence=p.confidence,
                risk_level=p.risk_level,
                root_cause=p.root_cause,
            )
        item.probabilities[p.horizon_h] = p.probability
        item.alarms[p.horizon_h] = p.alarm
        item.factors[p.horizon_h] = p.factors
    return list(by_service.values())
