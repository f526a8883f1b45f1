"""Which alerts stay quiet, and why: silences, maintenance windows and topology inhibition.

Suppressed alerts keep their lifecycle and show in the history with `suppressed_by`; only
their notifications stop. Inhibition follows the org's topology (the one graph merged from
the declared, simulated and label-discovered edges that the app provides; the declared one
alone when none is given): a critical alert on a service mutes the latency alerts of every
service that depends on it, directly or not, because their slowness is the dependency's
failure seen from upstream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.alerting.lifecycle import record_event
from failcast.kit.matchers import Matcher, matches_all, parse_matchers
from failcast.models import Alert, MaintenanceWindow, Silence
from failcast.models.alert import ACTIVE_STATES
from failcast.models.incident import IncidentType
from failcast.topology import store as topology_store
from failcast.topology.graph import DependencyGraph

# The org's dependency graph, as the app composes it (declared, simulated, discovered).
GraphProvider = Callable[[AsyncSession, int], Awaitable[DependencyGraph]]


@dataclass(frozen=True, slots=True)
class ActiveSilence:
    id: int
    matchers: Sequence[Matcher]


@dataclass(frozen=True, slots=True)
class ActiveWindow:
    id: int
    service: str


@dataclass(frozen=True, slots=True)
class AlertFacts:
    id: int
    service: str | None
    severity: str
    labels: Mapping[str, str]


def is_latency_alert(labels: Mapping[str, str]) -> bool:
    return labels.get("incident_type") == IncidentType.latency_spike.value


def decide(
    alerts: Sequence[AlertFacts],
    silences: Sequence[ActiveSilence],
    windows: Sequence[ActiveWindow],
    dependents: Callable[[str], set[str]],
) -> dict[int, str]:
    """The reason each suppressed alert is quiet: `silence:<id>`, `maintenance:<id>` or
    `inhibited_by:<alert id>`. Alerts not in the answer notify normally."""
    inhibitors: dict[str, int] = {}
    for alert in alerts:
        if alert.severity == "critical" and alert.service is not None:
            for dependent in dependents(alert.service):
                inhibitors.setdefault(dependent, alert.id)
    window_by_service = {w.service: w.id for w in windows}
    reasons: dict[int, str] = {}
    for alert in alerts:
        silence = next((s for s in silences if matches_all(s.matchers, alert.labels)), None)
        if silence is not None:
            reasons[alert.id] = f"silence:{silence.id}"
        elif alert.service is not None and alert.service in window_by_service:
            reasons[alert.id] = f"maintenance:{window_by_service[alert.service]}"
        elif (
            alert.service is not None
            and alert.service in inhibitors
            and inhibitors[alert.service] != alert.id
            and is_latency_alert(alert.labels)
        ):
            reasons[alert.id] = f"inhibited_by:{inhibitors[alert.service]}"
    return reasons


async def active_silences(session: AsyncSession, org_id: int, now: datetime) -> list[ActiveSilence]:
    rows = await session.scalars(
        select(Silence).where(
            Silence.org_id == org_id, Silence.starts_at <= now, Silence.ends_at > now
        )
    )
    return [ActiveSilence(s.id, parse_matchers(s.matchers)) for s in rows]


async def active_windows(session: AsyncSession, org_id: int, now: datetime) -> list[ActiveWindow]:
    rows = await session.scalars(
        select(MaintenanceWindow).where(
            MaintenanceWindow.org_id == org_id,
            MaintenanceWindow.starts_at <= now,
            MaintenanceWindow.ends_at > now,
        )
    )
    return [ActiveWindow(w.id, w.service) for w in rows]


async def apply(
    session: AsyncSession,
    org_id: int,
    now: datetime,
    alerts: Sequence[Alert],
    topology: GraphProvider | None = None,
) -> dict[int, str]:
    """Decide suppression for the org's active alerts at `now`, record changes on each alert
    and its timeline, and return the reasons by alert id (the caller commits)."""
    active = [a for a in alerts if a.state in ACTIVE_STATES]
    graph = await (topology or topology_store.graph)(session, org_id)
    reasons = decide(
        [AlertFacts(a.id, a.service, a.severity, a.labels) for a in active],
        await active_silences(session, org_id, now),
        await active_windows(session, org_id, now),
        lambda service: graph.dependents(service) if service in graph else set(),
    )
    for alert in active:
        reason = reasons.get(alert.id)
        if reason == alert.suppressed_by:
            continue
        if reason is None:
            record_event(session, alert, "unsuppressed", now, message="notifications resume")
        else:
            record_event(session, alert, "suppressed", now, message=reason)
        alert.suppressed_by = reason
    return reasons
