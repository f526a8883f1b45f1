"""Root-cause analysis over the API: for a symptom and a time, or for an alert or an incident
(its service, from its start).

The analysis always runs over the org's whole graph. A member restricted to their teams'
services is shown the candidates among those services only; when the likeliest cause (or one
too close to tell from it) is another team's service, the verdict is inconclusive and says
so, without naming it (docs/teams.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth.principal import CanRead
from failcast.db.owned import get_owned
from failcast.deps import PathId, SessionDep, SimulatedTopologyDep
from failcast.errors import ValidationFailed
from failcast.models import Alert, Incident, Service
from failcast.rca import service
from failcast.rca.analysis import Analysis, Question, candidate_dict
from failcast.rca.schemas import CandidateOut, MetricReading, RcaIn, RcaOut
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime
from failcast.topology.service import SimulatedTopology

router = APIRouter(prefix="/api/v1", tags=["rca"])


def _ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValidationFailed([{"field": "at", "msg": "needs a time zone offset, such as Z"}])
    return round(at.timestamp() * 1000)


def _maybe(ms: int | None) -> datetime | None:
    return None if ms is None else ms_to_datetime(ms)


# The reason a restricted member is given when the ranking's top is another team's service.
HIDDEN_CAUSE = (
    "the likeliest cause, or one too close to tell from it, is a service outside your teams"
)


def _out(analysis: Analysis, source: str, seen: teams.Visibility) -> RcaOut:
    q = analysis.question
    normal = analysis.normal or (None, None)
    verdict, reason = analysis.verdict, analysis.ranking.reason
    if not all(seen.admits(name) for name in analysis.ranking.close):
        verdict, reason = "inconclusive", HIDDEN_CAUSE
    candidates = []
    for c in [c for c in analysis.candidates if seen.admits(c.service)][:10]:
        if c.explained_by is not None and not seen.admits(c.explained_by):
            c = replace(c, explained_by=None)
        item = candidate_dict(c)
        candidates.append(
            CandidateOut(
                **{k: v for k, v in item.items() if k not in ("onset_ms", "metrics")},
                onset=_maybe(item["onset_ms"]),
                metrics=[MetricReading(**m) for m in item["metrics"]],
            )
        )
    return RcaOut(
        verdict=verdict,
        reason=reason,
        service=q.service,
        metric=q.metric,
        at=ms_to_datetime(q.at_ms),
        window_start=ms_to_datetime(analysis.window[0]),
        window_end=ms_to_datetime(analysis.window[1]),
        normal_start=_maybe(normal[0]),
        normal_end=_maybe(normal[1]),
        topology=source,
        close=[name for name in analysis.ranking.close if seen.admits(name)],
        unjudged=[name for name in analysis.unjudged if seen.admits(name)],
        candidates=candidates,
    )


async def _answer(
    simulated: SimulatedTopology,
    session: AsyncSession,
    org_id: int,
    question: Question,
    seen: teams.Visibility,
) -> RcaOut:
    analysis, source = await service.analyse_org(session, org_id, simulated, question)
    return _out(analysis, source, seen)


@router.post("/rca", response_model=RcaOut, operation_id="analyse_root_cause")
async def analyse_root_cause(
    body: RcaIn, principal: CanRead, session: SessionDep, simulated: SimulatedTopologyDep
) -> RcaOut:
    """Rank the services that may explain a symptom seen at a time, from the org's stored
    samples and its topology (declared, else the simulated fleet's). Answers `root_cause`
    with the top candidate and the metric that points to it, or `inconclusive` with the
    candidates that came too close to tell apart."""
    seen = await teams.require_visible(session, principal, body.service, "service")
    question = Question(
        body.service, _ms(body.at), body.metric,
        before_ms=round(body.before_minutes * 60_000),
        after_ms=round(body.after_minutes * 60_000),
        normal_ms=round(body.normal_minutes * 60_000),
    )  # fmt: skip
    return await _answer(simulated, session, principal.org_id, question, seen)


@router.get("/alerts/{alert_id}/rca", response_model=RcaOut, operation_id="analyse_alert")
async def analyse_alert(
    alert_id: PathId, principal: CanRead, session: SessionDep, simulated: SimulatedTopologyDep
) -> RcaOut:
    """The root-cause analysis of an alert: its service, from the time it started (the
    alert's `rca` link)."""
    alert = await get_owned(session, Alert, principal.org_id, alert_id, "alert")
    seen = await teams.require_visible(session, principal, alert.service, "alert")
    if not alert.service:
        raise ValidationFailed([{"field": "service", "msg": "the alert names no service"}])
    question = Question(alert.service, _ms(alert.started_at))
    return await _answer(simulated, session, principal.org_id, question, seen)


@router.get("/incidents/{incident_id}/rca", response_model=RcaOut, operation_id="analyse_incident")
async def analyse_incident(
    incident_id: PathId, principal: CanRead, session: SessionDep, simulated: SimulatedTopologyDep
) -> RcaOut:
    """The root-cause analysis of an incident: its service, from its start (the incident's
    `rca` link)."""
    incident = await get_owned(session, Incident, principal.org_id, incident_id, "incident")
    name = await session.get(Service, incident.service_id)
    assert name is not None  # the foreign key holds
    seen = await teams.require_visible(session, principal, name.name, "incident")
    question = Question(name.name, _ms(incident.started_at))
    return await _answer(simulated, session, principal.org_id, question, seen)
