"""The detection API: detector configurations, scoring on demand, the detector of each live
series, model drift, and a metric's forecast with its time to breach."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query

from failcast.auth.principal import CanRead, CanWrite
from failcast.deps import SessionDep
from failcast.detect import choices, configs, reports
from failcast.detect.schemas import (
    BreachOut,
    ChoiceIn,
    DetectorOut,
    DetectorsOut,
    DriftOut,
    FeatureDriftOut,
    ForecastOut,
    ForecastPointOut,
    LiveSeriesOut,
    MetricStatusOut,
    ScoreIn,
    ScoreOut,
    ScorePointOut,
    Window,
)
from failcast.detect.scoring import score_table
from failcast.detect.surprise_core import REASONS
from failcast.detect.tail import ALARM_THRESHOLD
from failcast.errors import ValidationFailed
from failcast.kit.names import NAME_PATTERN, SERVICE_PATTERN
from failcast.kit.responses import errors
from failcast.ops.body_limit import bulk_body
from failcast.query.service import parse_matchers
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime, now_ms, parse_duration_ms, parse_ts

router = APIRouter(prefix="/api/v1", tags=["detection"])

HOUR_MS = 3_600_000
MAX_SPAN_MS = 90 * 24 * HOUR_MS


def _duration(field: str, value: str) -> int:
    try:
        ms = parse_duration_ms(value)
    except ValueError as exc:
        raise ValidationFailed([{"field": field, "msg": str(exc)}]) from None
    if ms > MAX_SPAN_MS:
        raise ValidationFailed([{"field": field, "msg": "at most 90 days"}])
    return ms


ServiceQuery = Annotated[str, Query(alias="service", pattern=SERVICE_PATTERN, max_length=128)]


@router.get("/drift", response_model=DriftOut, operation_id="get_drift", responses=errors(404))
async def get_drift(
    principal: CanRead,
    session: SessionDep,
    service: ServiceQuery,
    current: Annotated[str, Query(description="Current window, ending now.")] = "6h",
    reference: Annotated[str, Query(description="Reference window, before it.")] = "7d",
) -> DriftOut:
    """Features and predictions of an ML model service, ranked by drift."""
    await teams.require_visible(session, principal, service, "service")
    current_ms = _duration("current", current)
    reference_ms = _duration("reference", reference)
    report = await reports.drift_report(
        session,
        principal.org_id,
        service,
        now_ms(),
        current_ms=current_ms,
        reference_ms=reference_ms,
    )
    return DriftOut(
        service=report.service,
        reference=Window(
            start=ms_to_datetime(report.reference[0]), end=ms_to_datetime(report.reference[1])
        ),
        current=Window(
            start=ms_to_datetime(report.current[0]), end=ms_to_datetime(report.current[1])
        ),
        features=[
            FeatureDriftOut(
                feature=f.feature,
                source=f.source,
                severity=f.severity,
                drifted=f.drifted,
                psi=f.psi,
                ks=f.ks,
                ks_pvalue=f.ks_pvalue,
                wasserstein=f.wasserstein,
                jensen_shannon=f.jensen_shannon,
                n_reference=f.n_reference,
                n_current=f.n_current,
            )
            for f in report.features
        ],
    )


@router.get(
    "/forecast", response_model=ForecastOut, operation_id="get_forecast", responses=errors(404)
)
async def get_forecast(
    principal: CanRead,
    session: SessionDep,
    service: ServiceQuery,
    metric: Annotated[str, Query(pattern=NAME_PATTERN, max_length=200)],
    threshold: float,
    direction: Literal["above", "below"] = "above",
    labels: Annotated[
        list[str], Query(description="Label matchers `name=value` picking one series.")
    ] = [],  # noqa: B006  FastAPI copies query defaults
    window: Annotated[str, Query(description="History the trend is fitted on.")] = "72h",
    horizon: Annotated[str, Query(description="How far ahead to forecast.")] = "72h",
) -> ForecastOut:
    """A metric's forecast path with its 80% band, and when it crosses `threshold`."""
    await teams.require_visible(session, principal, service, "service")
    if not math.isfinite(threshold):
        raise ValidationFailed([{"field": "threshold", "msg": "must be a finite number"}])
    window_h = _duration("window", window) / HOUR_MS
    horizon_h = _duration("horizon", horizon) / HOUR_MS
    now = now_ms()
    result = await reports.forecast(
        session,
        principal.org_id,
        service,
        metric,
        parse_matchers(labels),
        threshold,
        direction,
        now,
        window_hours=window_h,
        horizon_hours=horizon_h,
    )
    breach = result.breach
    last = result.history[-1][0] if result.history else now
    return ForecastOut(
        service=result.service,
        metric=result.metric,
        labels=result.labels,
        threshold=result.threshold,
        direction=result.direction,
        history=[(ms_to_datetime(t), v) for t, v in result.history],
        forecast=[
            ForecastPointOut(ts=ms_to_datetime(p.ts), value=p.value, low=p.low, high=p.high)
            for p in result.path
        ],
        breach=None
        if breach is None
        else BreachOut(
            hours=breach.hours,
            low_hours=breach.low_hours,
            high_hours=breach.high_hours,
            at=ms_to_datetime(int(last + breach.hours * HOUR_MS)),
            summary=breach.describe(metric),
        ),
    )


@router.get("/detectors", response_model=DetectorsOut, operation_id="list_detectors")
async def list_detectors(principal: CanRead) -> DetectorsOut:
    """The named detector configurations, the default first, with the alarm threshold."""
    first = configs.default()
    return DetectorsOut(
        threshold=ALARM_THRESHOLD,
        detectors=[
            DetectorOut(
                name=c.name,
                summary=c.summary,
                default=c is first,
                single=c.single,
                vector=c.vector,
            )
            for c in configs.listed()
        ],
    )


def _table(
    where: str, timestamps: list[float | str], values: list[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """(epoch ms, rows x metrics) from a request, with errors that say where."""
    if len(timestamps) != len(values):
        raise ValidationFailed(
            [
                {
                    "field": f"{where}values",
                    "msg": f"{len(values)} rows for {len(timestamps)} timestamps",
                }
            ]
        )
    times = np.empty(len(timestamps), dtype=np.int64)
    for i, ts in enumerate(timestamps):
        try:
            times[i] = parse_ts(ts)
        except ValueError as exc:
            raise ValidationFailed(
                [{"index": i, "field": f"{where}timestamps", "msg": str(exc)}]
            ) from None
    if len(times) > 1 and (np.diff(times) <= 0).any():
        i = int(np.flatnonzero(np.diff(times) <= 0)[0]) + 1
        raise ValidationFailed(
            [{"index": i, "field": f"{where}timestamps", "msg": "timestamps must increase"}]
        )
    rows = [v if isinstance(v, list) else [v] for v in values]
    width = len(rows[0]) if rows else 0
    for i, row in enumerate(rows):
        if len(row) != width or width == 0:
            raise ValidationFailed(
                [{"index": i, "field": f"{where}values", "msg": f"expected {width} values"}]
            )
    table = np.array([[math.nan if v is None else v for v in row] for row in rows], dtype=float)
    if np.isinf(table).any():
        i = int(np.flatnonzero(np.isinf(table).any(axis=1))[0])
        raise ValidationFailed([{"index": i, "field": f"{where}values", "msg": "not finite"}])
    return times, table


@router.post("/detect/score", response_model=ScoreOut, operation_id="score_values")
@bulk_body
async def score_values(principal: CanRead, body: ScoreIn) -> ScoreOut:
    """Score values causally with a named configuration, as `failcast score` does: each row
    against the rows before it (and the training rows), nothing stored."""
    times, table = _table("", body.timestamps, body.values)
    train = None
    if body.train is not None:
        train_times, train_table = _table("train.", body.train.timestamps, body.train.values)
        train = (train_table, train_times)
    if body.metrics is not None and len(body.metrics) != table.shape[1]:
        raise ValidationFailed(
            [{"field": "metrics", "msg": f"{len(body.metrics)} names for {table.shape[1]} columns"}]
        )
    try:
        result = await asyncio.to_thread(
            score_table,
            table,
            times,
            detector=body.detector,
            params=body.params,
            metrics=body.metrics,
            train=train,
        )
    except ValueError as exc:
        text = str(exc)
        field = "train.values" if "training data" in text else configs.error_field(text)
        raise ValidationFailed([{"field": field, "msg": text}]) from None
    return ScoreOut(
        detector=result.configuration,
        spec=result.spec,
        threshold=result.threshold,
        alarms=result.alarms,
        points=[
            ScorePointOut(
                ts=ms_to_datetime(int(t)),
                score=_finite(result.score[i]),
                change=_finite(result.change[i]),
                status=result.status[i],
                reason=REASONS.get(result.status[i]),
                drivers=result.drivers[i] if result.drivers else [],
            )
            for i, t in enumerate(times.tolist())
        ],
        metrics=[
            MetricStatusOut(metric=m.metric, status=m.status, scored=m.scored, counts=m.counts)
            for m in result.metrics
        ],
    )


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _live(series: choices.LiveSeries) -> LiveSeriesOut:
    return LiveSeriesOut(**dataclasses.asdict(series))


@router.get(
    "/detectors/series",
    response_model=list[LiveSeriesOut],
    operation_id="list_live_detectors",
    responses=errors(404),
)
async def list_live_detectors(
    principal: CanRead,
    session: SessionDep,
    service: Annotated[str | None, Query(pattern=SERVICE_PATTERN, max_length=128)] = None,
) -> list[LiveSeriesOut]:
    """Every live series with the detector that scores it and where it stands: not started,
    warming up (and for how long), constant so far, or scored."""
    seen = await teams.visibility(session, principal)
    if service is not None:
        seen.require(service, "service")
    found = await choices.live_series(session, principal.org_id, service)
    return [_live(s) for s in found if seen.admits(s.service)]


@router.put(
    "/detectors/series",
    response_model=list[LiveSeriesOut],
    operation_id="choose_live_detector",
    responses=errors(404),
)
async def choose_live_detector(
    principal: CanWrite, session: SessionDep, body: ChoiceIn
) -> list[LiveSeriesOut]:
    """Choose the configuration live scoring runs on every series of one metric of a service.
    Its state starts afresh; the scores go to an `anomaly_score` series labelled with the new
    detector."""
    await teams.require_visible(session, principal, body.service, "service")
    await choices.set_choice(
        session, principal.org_id, body.service, body.metric, body.detector, body.params
    )
    await session.flush()
    found = await choices.live_series(session, principal.org_id, body.service)
    return [_live(s) for s in found if s.metric == body.metric]


@router.delete(
    "/detectors/series", status_code=204, operation_id="reset_live_detector", responses=errors(404)
)
async def reset_live_detector(
    principal: CanWrite,
    session: SessionDep,
    service: Annotated[str, Query(pattern=SERVICE_PATTERN, max_length=128)],
    metric: Annotated[str, Query(pattern=NAME_PATTERN, max_length=200)],
) -> None:
    """Return one metric of a service to the default detector."""
    await teams.require_visible(session, principal, service, "service")
    await choices.delete_choice(session, principal.org_id, service, metric)
    await session.flush()
