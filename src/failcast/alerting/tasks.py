"""The periodic alerting job: evaluate each org's rules, then flush its notifications."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from failcast.alerting.evaluate import evaluate_org, org_ids_with_rules
from failcast.alerting.inbound import expire, org_ids_with_inbound
from failcast.alerting.suppression import GraphProvider
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.jobs.runner import OrgJob, TaskRunner
from failcast.models import NotificationChannel
from failcast.notify.notifier import Notifier
from failcast.signals import SignalRegistry

TASK = "alerting.evaluate"
INTERVAL_SECONDS = 60.0


class AlertingJob:
    """Evaluates an org's rules, then flushes its notifications; run org by org."""

    def __init__(
        self,
        database: Database,
        signals: SignalRegistry,
        notifier: Notifier,
        topology: GraphProvider | None = None,
    ) -> None:
        self.database = database
        self.signals = signals
        self.notifier = notifier
        self.topology = topology

    async def orgs(self) -> list[int]:
        """Orgs with enabled rules, inbound alerts to expire, or enabled channels (pending
        notifications to flush)."""
        async with session_scope(self.database) as session:
            with_rules = await org_ids_with_rules(session)
            with_inbound = await org_ids_with_inbound(session)
            with_channels = await session.scalars(
                select(NotificationChannel.org_id)
                .where(NotificationChannel.enabled.is_(True))
                .distinct()
            )
            return sorted(set(with_rules) | set(with_inbound) | set(with_channels))

    async def run_org(self, org_id: int, now_ms: int) -> None:
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        async with session_scope(self.database) as session:
            await expire(session, org_id, now)
            await evaluate_org(session, org_id, now, signals=self.signals, topology=self.topology)
        await self.notifier.flush(now, org_id=org_id)


def register(
    runner: TaskRunner,
    database: Database,
    signals: SignalRegistry,
    notifier: Notifier,
    seconds: float = INTERVAL_SECONDS,
    topology: GraphProvider | None = None,
) -> None:
    """Run the alerting job every `seconds` on the app's runner."""
    job = AlertingJob(database, signals, notifier, topology)
    runner.register(TASK, OrgJob(TASK, job.orgs, job.run_org))
    runner.every(seconds, TASK)
