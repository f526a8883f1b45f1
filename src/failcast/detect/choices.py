"""Which detector live scoring runs on each metric: the default, or one chosen per metric of a
service; and where each live series stands (warming up, constant, scored)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.detect.configs import Spec, configuration, default, error_field
from failcast.detect.live import SCORE_METRICS
from failcast.detect.surprise_core import CONSTANT, REASONS, SCORED, WARMING_UP
from failcast.errors import NotFound, ValidationFailed
from failcast.models import DetectorChoice, DetectorState, Series, Service

NOT_STARTED = "not_started"


def chosen_spec(detector: str, params: dict[str, Any]) -> Spec:
    """The single-metric spec of a chosen configuration (ValueError when it cannot be)."""
    config = configuration(detector)
    config.check(1, params)
    return config.spec(1, params)


async def specs_by_metric(session: AsyncSession, org_id: int) -> dict[tuple[int, str], Spec]:
    """(service id, metric) -> the spec chosen for it, for every choice of the org."""
    rows = await session.scalars(select(DetectorChoice).where(DetectorChoice.org_id == org_id))
    found: dict[tuple[int, str], Spec] = {}
    for choice in rows:
        try:
            found[(choice.service_id, choice.metric)] = chosen_spec(choice.detector, choice.params)
        except ValueError:
            continue  # a configuration that no longer exists: the default scores it
    return found


async def _service(session: AsyncSession, org_id: int, name: str) -> Service:
    service = await session.scalar(
        select(Service).where(Service.org_id == org_id, Service.name == name)
    )
    if service is None:
        raise NotFound(f"no service named {name!r}")
    return service


async def set_choice(
    session: AsyncSession,
    org_id: int,
    service: str,
    metric: str,
    detector: str,
    params: dict[str, Any],
) -> DetectorChoice:
    """Choose the detector for every series of one metric of a service (not committed)."""
    if metric in SCORE_METRICS:
        raise ValidationFailed([{"field": "metric", "msg": f"{metric} is never scored"}])
    try:
        chosen_spec(detector, params)
    except ValueError as exc:
        raise ValidationFailed([{"field": error_field(str(exc)), "msg": str(exc)}]) from None
    target = await _service(session, org_id, service)
    choice = await session.scalar(
        select(DetectorChoice).where(
            DetectorChoice.service_id == target.id, DetectorChoice.metric == metric
        )
    )
    if choice is None:
        choice = DetectorChoice(org_id=org_id, service_id=target.id, metric=metric)
        session.add(choice)
    choice.detector = configuration(detector).name
    choice.params = dict(params)
    await session.flush()
    return choice


async def delete_choice(session: AsyncSession, org_id: int, service: str, metric: str) -> None:
    """Return one metric of a service to the default detector (not committed)."""
    target = await _service(session, org_id, service)
    result = await session.execute(
        delete(DetectorChoice).where(
            DetectorChoice.service_id == target.id, DetectorChoice.metric == metric
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no detector chosen for {service}/{metric}")


@dataclass(frozen=True)
class LiveSeries:
    service: str
    metric: str
    labels: dict[str, str]
    detector: str
    chosen: bool
    points: int
    status: str
    reason: str | None
    warmup: int | None


def _status(state: dict[str, Any] | None) -> tuple[str, int | None]:
    """(status, warm-up length) read from a saved detector state."""
    if state is None:
        return NOT_STARTED, None
    detector = state.get("detector") or {}
    params = detector.get("params") or {}
    core = (detector.get("state") or {}).get("core")
    warmup = params.get("warmup")
    if core is None or warmup is None:
        return SCORED, None
    seen = int(core["seen"][0])
    if seen < int(warmup):
        return WARMING_UP, int(warmup)
    lo, hi = core["lo"][0], core["hi"][0]
    if lo is not None and hi is not None and hi <= lo:
        return CONSTANT, int(warmup)
    return SCORED, int(warmup)


async def live_series(
    session: AsyncSession, org_id: int, service: str | None = None
) -> list[LiveSeries]:
    """Every scored series of the org (or of one service) with its detector and status."""
    query = (
        select(Series, Service.name)
        .join(Service, Service.id == Series.service_id)
        .where(Series.org_id == org_id, Series.metric.not_in(SCORE_METRICS))
        .order_by(Service.name, Series.metric, Series.labels_key)
    )
    if service is not None:
        await _service(session, org_id, service)
        query = query.where(Service.name == service)
    rows = (await session.execute(query)).all()
    states = {
        s.series_id: s
        for s in await session.scalars(
            select(DetectorState).where(
                DetectorState.org_id == org_id, DetectorState.series_id.is_not(None)
            )
        )
    }
    choices = {
        (c.service_id, c.metric): c
        for c in await session.scalars(
            select(DetectorChoice).where(DetectorChoice.org_id == org_id)
        )
    }
    out = []
    for series, service_name in rows:
        choice = choices.get((series.service_id, series.metric))
        saved = states.get(series.id)
        status, warmup = _status(saved.state if saved is not None else None)
        out.append(
            LiveSeries(
                service=service_name,
                metric=series.metric,
                labels=dict(series.labels),
                detector=choice.detector if choice is not None else default().name,
                chosen=choice is not None,
                points=saved.points if saved is not None else 0,
                status=status,
                reason=REASONS.get(status)
                if status != NOT_STARTED
                else "not scored yet: live scoring runs every few seconds",
                warmup=warmup,
            )
        )
    return out
