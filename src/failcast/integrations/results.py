"""Failcast's results as Prometheus metrics: what the exporter serves and what the query API
answers for `failcast_*` names, so anyone can chart them and alert on them with their own rules.

- `failcast_incident_probability{service,horizon}`: P(an incident starts within the horizon),
  from the newest prediction;
- `failcast_anomaly_score{service,metric}` and `failcast_change_score{service,metric}`: the
  newest anomaly and level-shift scores (highest over the metric's label sets);
- `failcast_health_score{service,kind}`: health from 0 (failing) to 100;
- `failcast_slo_burn_rate{service,slo,window}` (1 spends the budget exactly) and
  `failcast_error_budget_remaining{service,slo}` (negative once overspent);
- `failcast_time_to_breach_seconds{service,metric}`: until the metric's trend crosses its limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.detect.live import CHANGE_METRIC, SCORE_METRIC
from failcast.detect.signals import ForecastBreachSignals
from failcast.integrations.exporters import ExportedSample
from failcast.models import FailurePrediction, Sample, Series, Service
from failcast.signals import SignalRequest
from failcast.slo.service import evaluate_all
from failcast.store.remote import samples_engine
from failcast.timeutil import now_ms


async def incident_probabilities(session: AsyncSession, org_id: int) -> list[ExportedSample]:
    """The newest live (not shadow) prediction of each service and horizon."""
    newest = (
        select(
            FailurePrediction.service_id,
            FailurePrediction.horizon_h,
            func.max(FailurePrediction.ts).label("ts"),
        )
        .where(FailurePrediction.org_id == org_id, FailurePrediction.shadow.is_(False))
        .group_by(FailurePrediction.service_id, FailurePrediction.horizon_h)
        .subquery()
    )
    rows = await session.execute(
        select(Service.name, FailurePrediction.horizon_h, FailurePrediction.probability)
        .join(Service, Service.id == FailurePrediction.service_id)
        .join(
            newest,
            (newest.c.service_id == FailurePrediction.service_id)
            & (newest.c.horizon_h == FailurePrediction.horizon_h)
            & (newest.c.ts == FailurePrediction.ts),
        )
        .where(FailurePrediction.shadow.is_(False))
        .order_by(Service.name, FailurePrediction.horizon_h)
    )
    return [
        ExportedSample(
            "incident_probability",
            "Probability that an incident of the service starts within the horizon.",
            {"service": service, "horizon": f"{horizon}h"},
            float(probability),
        )
        for service, horizon, probability in rows
    ]


async def detector_scores(session: AsyncSession, org_id: int) -> list[ExportedSample]:
    """The newest anomaly and level-shift score of each scored metric of each service."""
    rows: Iterable[tuple[str, str, dict[str, str], float]]
    if (remote := samples_engine(session)) is not None:
        catalogue = (
            await session.execute(
                select(Series.id, Service.name, Series.metric, Series.labels)
                .join(Service, Service.id == Series.service_id)
                .where(Series.org_id == org_id, Series.metric.in_((SCORE_METRIC, CHANGE_METRIC)))
            )
        ).all()
        latest = await remote.latest(session, [row.id for row in catalogue], now_ms())
        rows = [
            (row.name, row.metric, row.labels, latest[row.id][1])
            for row in catalogue
            if row.id in latest
        ]
    else:
        rows = await _newest_scores(session, org_id)
    highest: dict[tuple[str, str, str], float] = {}
    for service, kind, labels, value in rows:
        key = (kind, service, str(labels.get("metric", "")))
        highest[key] = max(value, highest.get(key, -math.inf))
    help_text = {
        SCORE_METRIC: "Newest anomaly score of the metric, from 0 to 1 (0.5 is an alarm).",
        CHANGE_METRIC: "Newest level-shift score of the metric, from 0 to 1 (0.5 is an alarm).",
    }
    return [
        ExportedSample(kind, help_text[kind], {"service": service, "metric": metric}, value)
        for (kind, service, metric), value in sorted(highest.items())
    ]


async def _newest_scores(
    session: AsyncSession, org_id: int
) -> list[tuple[str, str, dict[str, str], float]]:
    newest = (
        select(Sample.series_id, func.max(Sample.ts).label("ts"))
        .join(Series, Series.id == Sample.series_id)
        .where(Series.org_id == org_id, Series.metric.in_((SCORE_METRIC, CHANGE_METRIC)))
        .group_by(Sample.series_id)
        .subquery()
    )
    rows = await session.execute(
        select(Service.name, Series.metric, Series.labels, Sample.value)
        .join(Series, Series.service_id == Service.id)
        .join(newest, newest.c.series_id == Series.id)
        .join(Sample, (Sample.series_id == newest.c.series_id) & (Sample.ts == newest.c.ts))
    )
    return [(str(a), str(b), dict(c), float(d)) for a, b, c, d in rows]


async def slo_budgets(session: AsyncSession, org_id: int) -> list[ExportedSample]:
    """Burn rates per window and the error budget left, of every SLO with data."""
    out: list[ExportedSample] = []
    for evaluation in await evaluate_all(session, org_id, now_ms(), None):
        if evaluation.status is None:
            continue
        labels = {"service": evaluation.slo.service, "slo": evaluation.slo.name}
        for window, rate in sorted(evaluation.burn_rates.items()):
            if math.isfinite(rate):
                out.append(
                    ExportedSample(
                        "slo_burn_rate",
                        "Error-budget burn rate over the window (1 spends the budget exactly).",
                        {**labels, "window": window},
                        rate,
                    )
                )
        out.append(
            ExportedSample(
                "error_budget_remaining",
                "Share of the SLO's error budget left over its window.",
                labels,
                evaluation.status.budget.remaining,
            )
        )
    return out


async def times_to_breach(session: AsyncSession, org_id: int) -> list[ExportedSample]:
    """Seconds until each limited metric's trend crosses its limit, where that is within 72 h."""
    request = SignalRequest(session, org_id, datetime.now(UTC), "forecast_breach", None, {})
    signals = await ForecastBreachSignals().signals(request)
    return [
        ExportedSample(
            "time_to_breach_seconds",
            "Seconds until the metric's trend crosses its limit (0: already past).",
            {"service": s.service, "metric": str(s.labels.get("metric", ""))},
            s.value * 3600.0,
        )
        for s in signals
    ]


RESULT_EXPORTERS = (incident_probabilities, detector_scores, slo_budgets, times_to_breach)
