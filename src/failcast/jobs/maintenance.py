"""The store's periodic jobs: partitions and retention (hourly), rollups (every minute),
compaction of closed windows into chunks (every few minutes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import text

from failcast.config import Settings
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.store import chunks, partitions, rollups
from failcast.timeutil import now_ms

if TYPE_CHECKING:
    from failcast.services import Services

PARTITIONS_TASK = "store.partitions"
ROLLUPS_TASK = "store.rollups"
COMPACTION_TASK = "store.compact"
PARTITIONS_SECONDS = 3600.0
# Long enough for the weekly jobs' slots to stay deduplicated, short enough to stay small.
JOB_RUN_RETENTION_MS = 14 * 86_400_000


class StoreJobs:
    """Task functions over one Database; `now` (ms) is injectable for tests."""

    def __init__(
        self, database: Database, settings: Settings, clock: Callable[[], int] = now_ms
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock

    def raw_cutoff(self, now: int) -> int:
        """Samples before this instant are past retention (whole days, as partitions go)."""
        return partitions.day_of(now - int(self.settings.sample_retention.total_seconds() * 1000))

    async def partitions(self, now: int | None = None) -> partitions.MaintenanceReport:
        """Create partitions ahead, drop expired days, expire old rollups and job runs."""
        at = self.clock() if now is None else now
        cutoff = self.raw_cutoff(at)
        rollup_ms = int(self.settings.rollup_retention.total_seconds() * 1000)
        async with session_scope(self.database) as session:
            report = await partitions.maintain(
                session,
                at,
                days_ahead=self.settings.partition_days_ahead,
                retention_ms=at - cutoff,
            )
            if not await partitions.is_partitioned(session):
                # SQLite: the same retention by rows; IN (series) lets it seek the primary key.
                await session.execute(
                    text(
                        "DELETE FROM sample WHERE series_id IN (SELECT id FROM series) "
                        "AND ts < :cutoff"
                    ),
                    {"cutoff": cutoff},
                )
            await chunks.expire(session, cutoff)
            await rollups.expire(session, at - rollup_ms)
            await session.execute(
                text("DELETE FROM job_run WHERE slot_ms < :cutoff"),
                {"cutoff": at - JOB_RUN_RETENTION_MS},
            )
        return report

    async def rollups(self, now: int | None = None) -> list[int]:
        """Recompute the rollups of closed hours that received samples; return those hours."""
        at = self.clock() if now is None else now
        async with session_scope(self.database) as session:
            return await rollups.refresh(session, at, raw_cutoff_ms=self.raw_cutoff(at))

    async def compact(self, now: int | None = None) -> chunks.CompactionReport:
        """Move the samples of windows closed for the grace period into chunks."""
        at = self.clock() if now is None else now
        grace_ms = int(self.settings.chunk_grace.total_seconds() * 1000)
        async with session_scope(self.database) as session:
            return await chunks.compact(session, at, grace_ms=grace_ms)


def install_store_jobs(services: Services) -> StoreJobs:
    """Register the store's jobs on the services' runner."""
    settings = services.settings
    jobs = StoreJobs(services.db, settings)
    services.runner.register(PARTITIONS_TASK, jobs.partitions)
    services.runner.register(ROLLUPS_TASK, jobs.rollups)
    services.runner.register(COMPACTION_TASK, jobs.compact)
    services.runner.every(PARTITIONS_SECONDS, PARTITIONS_TASK)
    if settings.metrics_engine is None:
        # With a metrics engine the sample tables stay empty: nothing to roll up or compact.
        # Partitions keep running: they also expire the job runs.
        services.runner.every(settings.rollup_interval_seconds, ROLLUPS_TASK)
        services.runner.every(settings.compaction_interval_seconds, COMPACTION_TASK)
    return jobs
