"""Rule evaluation: read each rule's instances, move their alerts through the lifecycle.

    condition true   none -> pending -> (after `for`) firing;  firing/acknowledged stay
    condition false  pending -> dropped;  firing/acknowledged -> resolved, unless
                     `keep_firing_for` has not passed since it was last true, or the
                     instance is flapping (held firing until it calms down)

`evaluate_org(session, org_id, now)` does one pass at an injected time, so tests drive it
without sleeping; the periodic job calls it with the wall clock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.alerting import context as alert_context
from failcast.alerting import suppression
from failcast.alerting.conditions import (
    Observation,
    aggregate,
    baseline,
    effect_size,
    fingerprint,
)
from failcast.alerting.lifecycle import record_event
from failcast.alerting.rules import (
    ANOMALY_METRIC,
    AnomalyScoreRule,
    RuleSpec,
    ThresholdRule,
    rule_spec,
)
from failcast.kit.durations import duration_ms
from failcast.models import Alert, AlertEvent, AlertRule
from failcast.models.alert import ACTIVE_STATES, AlertState
from failcast.signals import SignalRegistry, SignalRequest
from failcast.store.labels import Matcher
from failcast.store.ranges import Aggregation
from failcast.store.samples import read_range
from failcast.store.series import select_series

# A rule reads at most this many samples per evaluation; more means the selector is too wide.
MAX_SAMPLES_PER_RULE = 500_000
OPEN_STATES = ("pending", *ACTIVE_STATES)


@dataclass
class EvaluationReport:
    """What one pass changed, by alert id."""

    rules: int = 0
    fired: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    pending: int = 0
    flapping: list[int] = field(default_factory=list)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def observe_samples(
    session: AsyncSession, org_id: int, spec: ThresholdRule | AnomalyScoreRule, now: datetime
) -> list[Observation]:
    """One observation per matching series, from its samples in (now - window, now]."""
    matchers = spec.matchers
    if isinstance(spec, ThresholdRule):
        metric, agg = spec.metric, spec.agg
    else:
        metric, agg = ANOMALY_METRIC, "max"
        if spec.source_metric:
            matchers.append(Matcher("metric", "=", spec.source_metric))
    series = [
        (found.id, found.service, found.labels)
        for found in await select_series(session, org_id, metric, spec.service, matchers)
    ]
    if not series:
        return []
    end = _ms(now) + 1
    window = duration_ms(spec.window)
    start = end - window - duration_ms(spec.baseline_window)
    points = await read_range(
        session,
        [s[0] for s in series],
        start,
        end,
        step_ms=None,
        agg=Aggregation.avg,
        limit=MAX_SAMPLES_PER_RULE,
    )
    observations: list[Observation] = []
    for series_id, service, labels in series:
        recent = [p.value for p in points[series_id] if p.ts >= end - window]
        before = [p.value for p in points[series_id] if p.ts < end - window]
        if not recent:
            observations.append(Observation(service, labels, None, False, spec.window))
            continue
        value = aggregate(recent, agg)
        base = baseline(before)
        observations.append(
            Observation(
                service=service,
                labels=labels,
                value=value,
                firing=spec.fires(value),
                window=spec.window,
                baseline=None if base is None else round(base.mean, 6),
                effect_size=effect_size(value, base),
                details={"samples": len(recent), "metric": metric},
            )
        )
    return observations


async def observe_signals(
    session: AsyncSession,
    org_id: int,
    spec: RuleSpec,
    now: datetime,
    registry: SignalRegistry,
) -> list[Observation]:
    params = spec.model_dump(mode="json", by_alias=True)
    request = SignalRequest(session, org_id, now, spec.kind, spec.service, params)  # type: ignore[arg-type]
    observations: list[Observation] = []
    for signal in await registry.signals(request):
        labels = dict(signal.labels)
        if any(labels.get(k) != v for k, v in spec.selector.items()):
            continue
        observations.append(
            Observation(
                service=signal.service,
                labels=labels,
                value=signal.value,
                firing=spec.fires(signal.value),
                baseline=signal.baseline,
                time_to_impact_hours=signal.time_to_impact_hours,
                factors=tuple(signal.factors),
                details=dict(signal.details),
            )
        )
    return observations


def alert_labels(rule: AlertRule, spec: RuleSpec, obs: Observation) -> dict[str, str]:
    metric = getattr(spec, "metric", None) or (
        ANOMALY_METRIC if isinstance(spec, AnomalyScoreRule) else None
    )
    labels = {
        "alertname": rule.name,
        "severity": rule.severity,
        "rule_kind": spec.kind,
        "incident_type": spec.default_incident_type(
            obs.labels.get("metric") or metric or obs.labels.get("incident_type")
        ).value,
    }
    if metric:
        labels["metric"] = metric
    labels |= {k: v for k, v in obs.labels.items() if k not in ("alertname", "severity")}
    if obs.service:
        labels["service"] = obs.service
    return labels | dict(spec.labels)


def _what(spec: RuleSpec, obs: Observation) -> dict[str, Any]:
    return {
        "rule": spec.name,
        "kind": spec.kind,
        "condition": spec.describe(),
        "value": obs.value,
        "baseline": obs.baseline,
        "window": obs.window,
        "effect_size": obs.effect_size,
        "details": dict(obs.details),
    }


async def _context(
    session: AsyncSession, org_id: int, labels: dict[str, str], spec: RuleSpec, obs: Observation
) -> dict[str, Any]:
    kind = labels["incident_type"]
    estimate = await alert_context.mttr(session, org_id, kind)
    return {
        "what": _what(spec, obs),
        "time_to_impact_hours": obs.time_to_impact_hours,
        "factors": [{"name": f.name, "contribution": f.contribution} for f in obs.factors],
        "incident_type": kind,
        "recommendations": await alert_context.recommendations(session, org_id, kind),
        "mttr": estimate.as_dict(),
    }


def _title(rule: AlertRule, obs: Observation) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in sorted(obs.labels.items()))
    where = f" on {obs.service}" if obs.service else ""
    return f"{rule.name}{where}" + (f" ({extra})" if extra else "")


async def _recent_changes(session: AsyncSession, org_id: int, fp: str, since: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AlertEvent)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .where(
            Alert.org_id == org_id,
            Alert.fingerprint == fp,
            AlertEvent.kind.in_(("fired", "resolved")),
            AlertEvent.at >= since,
        )
    )
    return int(count or 0)


class _Pass:
    def __init__(self, session: AsyncSession, org_id: int, now: datetime) -> None:
        self.session, self.org_id, self.now = session, org_id, now
        self.report = EvaluationReport()

    async def _flapping(self, spec: RuleSpec, fp: str, coming: int) -> bool:
        """True if the changes in the flap window, plus `coming` ones, exceed the limit."""
        since = self.now - timedelta(milliseconds=duration_ms(spec.flap.window))
        changes = await _recent_changes(self.session, self.org_id, fp, since)
        return changes + coming > spec.flap.max_changes

    async def _fire(self, alert: Alert, spec: RuleSpec) -> None:
        alert.state = AlertState.firing
        alert.fired_at = self.now
        await self.session.flush()
        what = alert.context.get("what", {})
        message = f"{what.get('condition', spec.describe())}: value {what.get('value')}"
        record_event(self.session, alert, "fired", self.now, message=message)
        self.report.fired.append(alert.id)
        if await self._flapping(spec, alert.fingerprint, 0):
            await self._mark_flapping(alert)

    async def _mark_flapping(self, alert: Alert) -> None:
        if not alert.flapping:
            alert.flapping = True
            record_event(
                self.session,
                alert,
                "flapping",
                self.now,
                message="changing state too often; held firing until it settles",
            )
            self.report.flapping.append(alert.id)

    async def holds(
        self, rule: AlertRule, spec: RuleSpec, obs: Observation, alert: Alert | None
    ) -> None:
        labels = alert_labels(rule, spec, obs)
        if alert is None:
            fp = fingerprint(rule.id, obs.service, obs.labels)
            alert = Alert(
                org_id=self.org_id,
                rule_id=rule.id,
                fingerprint=fp,
                state=AlertState.pending,
                severity=rule.severity,
                service=obs.service,
                title=_title(rule, obs)[:500],
                labels=labels,
                context=await _context(self.session, self.org_id, labels, spec, obs),
                started_at=self.now,
                flapping=False,
            )
            self.session.add(alert)
            await self.session.flush()
        else:
            alert.context = {**alert.context, "what": _what(spec, obs)}
            alert.context["time_to_impact_hours"] = obs.time_to_impact_hours
            if obs.factors:
                factors = [{"name": f.name, "contribution": f.contribution} for f in obs.factors]
                alert.context["factors"] = factors
        alert.value = obs.value
        alert.last_true_at = self.now
        alert.evaluated_at = self.now
        if alert.state == "pending":
            if self.now - alert.started_at >= timedelta(milliseconds=spec.for_ms):
                await self._fire(alert, spec)
            else:
                self.report.pending += 1

    async def clears(self, spec: RuleSpec, alert: Alert, obs: Observation | None) -> None:
        alert.evaluated_at = self.now
        if obs is not None:
            alert.value = obs.value
        if alert.state == "pending":
            await self.session.delete(alert)
            return
        keep = timedelta(milliseconds=spec.keep_firing_ms)
        if alert.last_true_at is not None and self.now - alert.last_true_at < keep:
            return
        if await self._flapping(spec, alert.fingerprint, 1):
            await self._mark_flapping(alert)
            return
        alert.state = AlertState.resolved
        alert.resolved_at = self.now
        alert.flapping = False
        record_event(self.session, alert, "resolved", self.now, message="condition cleared")
        self.report.resolved.append(alert.id)


async def evaluate_org(
    session: AsyncSession,
    org_id: int,
    now: datetime,
    *,
    signals: SignalRegistry | None = None,
    topology: suppression.GraphProvider | None = None,
) -> EvaluationReport:
    """Evaluate every enabled rule of the org at `now` and commit the alerts' new states;
    inhibition reads the graph `topology` provides (the declared one without it)."""
    registry = signals or SignalRegistry()
    rules = list(
        await session.scalars(
            select(AlertRule)
            .where(AlertRule.org_id == org_id, AlertRule.enabled.is_(True))
            .order_by(AlertRule.id)
        )
    )
    open_alerts: dict[int, dict[str, Alert]] = defaultdict(dict)
    for alert in await session.scalars(
        select(Alert).where(Alert.org_id == org_id, Alert.state.in_(OPEN_STATES))
    ):
        if alert.rule_id is not None:
            open_alerts[alert.rule_id][alert.fingerprint] = alert
    run = _Pass(session, org_id, now)
    try:
        for rule in rules:
            spec = rule_spec(rule.spec)
            if isinstance(spec, ThresholdRule | AnomalyScoreRule):
                observations = await observe_samples(session, org_id, spec, now)
            else:
                observations = await observe_signals(session, org_id, spec, now, registry)
            existing = open_alerts.get(rule.id, {})
            seen: set[str] = set()
            for obs in observations:
                fp = fingerprint(rule.id, obs.service, obs.labels)
                seen.add(fp)
                current = existing.get(fp)
                if obs.firing:
                    await run.holds(rule, spec, obs, current)
                elif current is not None:
                    await run.clears(spec, current, obs)
            for fp, gone in existing.items():
                if fp not in seen:
                    await run.clears(spec, gone, None)
            run.report.rules += 1
        active = await session.scalars(
            select(Alert).where(Alert.org_id == org_id, Alert.state.in_(ACTIVE_STATES))
        )
        await suppression.apply(session, org_id, now, list(active), topology)
        await session.flush()
    except BaseException:
        await session.rollback()
        raise
    return run.report


async def org_ids_with_rules(session: AsyncSession) -> list[int]:
    rows = await session.scalars(
        select(AlertRule.org_id).where(AlertRule.enabled.is_(True)).distinct()
    )
    return sorted(rows)
