"""The detection API: model drift, and a metric's forecast with its time to breach."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from failcast.auth.principal import CanRead
from failcast.deps import SessionDep
from failcast.detect import reports
from failcast.detect.schemas import (
    BreachOut,
    DriftOut,
    FeatureDriftOut,
    ForecastOut,
    ForecastPointOut,
    Window,
)
from failcast.errors import ValidationFailed
from failcast.ingest.schemas import NAME_PATTERN, SERVICE_PATTERN
from failcast.query.service import parse_matchers
from failcast.timeutil import ms_to_datetime, now_ms, parse_duration_ms

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


@router.get("/drift", response_model=DriftOut, operation_id="get_drift")
async def get_drift(
    principal: CanRead,
    session: SessionDep,
    service: ServiceQuery,
    current: Annotated[str, Query(description="Current window, ending now.")] = "6h",
    reference: Annotated[str, Query(description="Reference window, before it.")] = "7d",
) -> DriftOut:
    """Features and predictions of an ML model service, ranked by drift."""
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


@router.get("/forecast", response_model=ForecastOut, operation_id="get_forecast")
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
