"""The defaults an org starts with: alert rules on the metrics that feed health, SLOs for the
services users call, and a notification channel to the owners. The demo org gets them at
start; any org can apply them in one call (`POST /api/v1/orgs/current/defaults`). Applying
them again adds only what is missing, by name, and never changes what the org edited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.alerting.rules import (
    FailureProbabilityRule,
    RuleSpec,
    SloBurnRule,
    ThresholdRule,
    dump_rule,
)
from failcast.config import Settings
from failcast.models import (
    AlertRule,
    Membership,
    NotificationChannel,
    Role,
    Series,
    Service,
    Slo,
    User,
)
from failcast.slo import repository as slo_repository
from failcast.slo.schemas import LatencySli, MetricRef, RatioSli, SloDefinition

# SLOs are evaluated over 30 days of one-minute buckets each time alerting runs, so the
# defaults cover a few front doors, not every service.
MAX_SLO_SERVICES = 3
LATENCY_METRIC = "latency_p99_ms"
ERROR_METRIC = "error_rate"
CHANNEL_NAME = "owners-email"

# Thresholds follow the health score's anchors (health/config.py): an alert fires where a
# metric's score reaches "critical", held long enough that one noisy point does not page.
DEFAULT_RULES: tuple[RuleSpec, ...] = (
    ThresholdRule(
        name="high error rate",
        description="More than 5% of requests fail (health: critical).",
        severity="critical",
        metric=ERROR_METRIC,
        op=">",
        value=0.05,
        window="2m",
        **{"for": "1m"},
    ),
    ThresholdRule(
        name="slow responses",
        description="p99 latency above 500 ms (health: critical at 200 ms, zero at 1 s).",
        severity="warning",
        metric=LATENCY_METRIC,
        op=">",
        value=500.0,
        window="2m",
        **{"for": "1m"},
    ),
    ThresholdRule(
        name="CPU saturated",
        description="CPU above 90% for 5 minutes.",
        severity="warning",
        metric="cpu_pct",
        op=">",
        value=90.0,
        window="5m",
        **{"for": "5m"},
    ),
    ThresholdRule(
        name="memory nearly full",
        description="Memory above 90% for 5 minutes.",
        severity="warning",
        metric="memory_pct",
        op=">",
        value=90.0,
        window="5m",
        **{"for": "5m"},
    ),
    ThresholdRule(
        name="disk nearly full",
        description="Disk above 90%.",
        severity="critical",
        metric="disk_pct",
        op=">",
        value=90.0,
        window="5m",
    ),
    FailureProbabilityRule(
        name="failure likely within 24 h",
        description="The failure model gives an incident within 24 h more than 50%.",
        severity="warning",
        above=0.5,
        horizon_hours=24.0,
    ),
    SloBurnRule(
        name="SLO budget burning fast",
        description="An SLO burns its error budget fast enough to page.",
        severity="critical",
        tier="page",
    ),
    SloBurnRule(
        name="SLO budget burning",
        description="An SLO burns its error budget fast enough for a ticket.",
        severity="warning",
        tier="ticket",
    ),
)


def default_slos(service: str, metrics: set[str]) -> list[SloDefinition]:
    """Availability (from `error_rate`) and latency (from `latency_p99_ms`) at 99%."""
    slos: list[SloDefinition] = []
    if ERROR_METRIC in metrics:
        slos.append(
            SloDefinition(
                name=f"{service}-availability",
                service=service,
                description="99% of requests succeed",
                objective=0.99,
                sli=RatioSli(ratio=MetricRef(query=ERROR_METRIC), counts="bad"),
            )
        )
    if LATENCY_METRIC in metrics:
        slos.append(
            SloDefinition(
                name=f"{service}-latency",
                service=service,
                description="p99 latency at most 500 ms in 99% of minutes",
                objective=0.99,
                sli=LatencySli(threshold_ms=500.0, method="intervals"),
            )
        )
    return slos


class DefaultsApplied(BaseModel):
    """What applying the defaults added; what existed already is left as it was."""

    rules: list[str] = Field(description="alert rules added")
    slos: list[str] = Field(description="SLOs added, as service/name")
    channels: list[str] = Field(description="notification channels added")
    notes: list[str] = Field(description="what could not be set up, and what to do about it")


async def measured_services(session: AsyncSession, org_id: int) -> dict[str, set[str]]:
    """The org's services that report the SLO metrics, with which of them each reports."""
    rows = await session.execute(
        select(Service.name, Series.metric)
        .join(Series, Series.service_id == Service.id)
        .where(
            Service.org_id == org_id,
            Series.metric.in_((ERROR_METRIC, LATENCY_METRIC)),
        )
        .distinct()
    )
    found: dict[str, set[str]] = {}
    for service, metric in rows:
        found.setdefault(service, set()).add(metric)
    return found


def slo_services(measured: dict[str, set[str]], entry_points: Sequence[str]) -> list[str]:
    """The services that get SLOs: those users call first (no other service depends on
    them), then the rest by name, at most `MAX_SLO_SERVICES`."""
    entries = [s for s in entry_points if s in measured]
    rest = sorted(s for s in measured if s not in entries)
    return (entries + rest)[:MAX_SLO_SERVICES]


async def _owner_emails(session: AsyncSession, org_id: int) -> list[str]:
    emails = await session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role == Role.owner)
        .order_by(User.email)
    )
    return list(emails)


async def apply_defaults(
    session: AsyncSession,
    org_id: int,
    settings: Settings,
    services: dict[str, set[str]],
) -> DefaultsApplied:
    """Add the default rules, the SLOs of `services` (name -> metrics it reports) and the
    owners' email channel, skipping any name the org already uses. The caller commits."""
    now = datetime.now(UTC)
    notes: list[str] = []
    have_rules = set(
        await session.scalars(select(AlertRule.name).where(AlertRule.org_id == org_id))
    )
    rules: list[str] = []
    for spec in DEFAULT_RULES:
        if spec.name in have_rules:
            continue
        session.add(
            AlertRule(
                org_id=org_id,
                name=spec.name,
                kind=spec.kind,
                severity=spec.severity,
                enabled=spec.enabled,
                spec=dump_rule(spec),
                created_at=now,
                updated_at=now,
            )
        )
        rules.append(spec.name)

    slos: list[str] = []
    for service, metrics in services.items():
        for slo in default_slos(service, metrics):
            if await slo_repository.find_slo(session, org_id, slo.service, slo.name) is None:
                await slo_repository.create(session, org_id, slo)
                slos.append(f"{slo.service}/{slo.name}")
    if not services:
        has_slo = await session.scalar(select(Slo.id).where(Slo.org_id == org_id).limit(1))
        if has_slo is None:
            notes.append(
                f"No SLOs: no service reports {ERROR_METRIC} or {LATENCY_METRIC} yet. Send"
                " them, then apply the defaults again."
            )

    channels: list[str] = []
    have_channel = await session.scalar(
        select(NotificationChannel.id).where(
            NotificationChannel.org_id == org_id, NotificationChannel.name == CHANNEL_NAME
        )
    )
    owners = await _owner_emails(session, org_id)
    if have_channel is None and owners:
        mail = bool(settings.smtp_host)
        session.add(
            NotificationChannel(
                org_id=org_id,
                name=CHANNEL_NAME,
                kind="email",
                config={
                    "host": settings.smtp_host or "localhost",
                    "port": settings.smtp_port,
                    "username": settings.smtp_user or None,
                    "password": settings.smtp_password.get_secret_value() or None,
                    "starttls": settings.smtp_starttls,
                    "sender": settings.smtp_from,
                    "to": owners,
                },
                # Without a mail server it would only fail; it waits, disabled, to be set up.
                enabled=mail,
                created_at=now,
                updated_at=now,
            )
        )
        channels.append(CHANNEL_NAME)
        if not mail:
            notes.append(
                f"The {CHANNEL_NAME} channel is disabled: no mail server is configured"
                " (FAILCAST_SMTP_HOST). Set one, or add a Slack, PagerDuty or webhook channel"
                " in Settings."
            )
    await session.flush()
    return DefaultsApplied(rules=rules, slos=slos, channels=channels, notes=notes)


async def apply_org_defaults(
    session: AsyncSession, org_id: int, settings: Settings, entry_points: Sequence[str]
) -> DefaultsApplied:
    """`apply_defaults` with SLOs for the org's measured front doors (`slo_services`)."""
    measured = await measured_services(session, org_id)
    chosen = slo_services(measured, entry_points)
    return await apply_defaults(session, org_id, settings, {s: measured[s] for s in chosen})
