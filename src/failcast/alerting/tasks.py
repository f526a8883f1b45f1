"""The periodic alerting job: evaluate every org's rules, then flush notifications."""

from __future__ import annotations

from datetime import UTC, datetime

from failcast.alerting.evaluate import evaluate_org, org_ids_with_rules
from failcast.alerting.signals import SignalRegistry
from failcast.db.engine import Database
from failcast.jobs.runner import TaskRunner
from failcast.notify.notifier import Notifier

TASK = "alerting.evaluate"
INTERVAL_SECONDS = 60.0


class AlertingJob:
    """One pass over all orgs at the wall-clock time; the task the runner calls."""

    def __init__(self, database: Database, signals: SignalRegistry, notifier: Notifier) -> None:
        self.database = database
        self.signals = signals
        self.notifier = notifier

    async def __call__(self) -> None:
        now = datetime.now(UTC)
        async with self.database.session() as session:
            orgs = await org_ids_with_rules(session)
        for org_id in orgs:
            async with self.database.session() as session:
                await evaluate_org(session, org_id, now, signals=self.signals)
        await self.notifier.flush(now)


def register(
    runner: TaskRunner,
    database: Database,
    signals: SignalRegistry,
    notifier: Notifier,
    seconds: float = INTERVAL_SECONDS,
) -> None:
    """Run the alerting job every `seconds` on the app's runner."""
    runner.register(TASK, AlertingJob(database, signals, notifier))
    runner.every(seconds, TASK)
