"""Live anomaly scoring of stored series: read what arrived since each detector's cursor,
score it in time order, and store the scores, the new state and the cursor together.

One run, per org:

1. a short read transaction takes the series, the saved states and the new samples (at most
   `max_series` detectors and `max_points` samples, least recently scored first, so one huge
   backlog is worked off over several runs without starving the others);
2. the detectors run with no transaction open;
3. one write transaction stores the scores as `anomaly_score` samples, and each state with
   its cursor, on the condition that the cursor is still the one read in step 1. If another
   worker got there first the whole write is rolled back: nothing is scored twice or skipped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.detect.base import AnyDetector, State
from failcast.detect.live import (
    SCORE_METRICS,
    resume,
    rises_past,
    score_stream,
)
from failcast.detect.live_store import InputCache, read_work, write_work
from failcast.detect.live_work import LiveConfig, Work
from failcast.detect.tail import ALARM_THRESHOLD
from failcast.models import Series, Service

log = logging.getLogger("failcast.detect")


@dataclass
class RunReport:
    """What one run did: detectors advanced, points scored, states reset, whether unscored
    samples are left for the next run, and the services whose anomaly score rose past the
    alarm threshold."""

    detectors: int = 0
    points: int = 0
    resets: int = 0
    backlog: bool = False
    conflicts: int = 0
    alarmed: set[int] = field(default_factory=set)


class LiveScoring:
    """Scores an org's new samples; the periodic job (detect/tasks.py) runs it org by org."""

    def __init__(self, database: Database, config: LiveConfig | None = None) -> None:
        self.database = database
        self.config = config or LiveConfig(
            max_score_series=database.settings.max_score_series_per_org
        )
        # The newest anomaly score of each detector this process stored, to tell a score that
        # rises past the alarm threshold from one that stays past it. After a restart an
        # anomaly still under way counts as rising once.
        self._newest: dict[str, float] = {}
        self._inputs = InputCache()

    async def org_ids(self) -> list[int]:
        """Orgs with series to score."""
        async with session_scope(self.database) as session:
            orgs = await session.scalars(
                select(Series.org_id).where(Series.metric.not_in(SCORE_METRICS)).distinct()
            )
            return sorted(orgs)

    async def run_org(self, org_id: int, now: int) -> RunReport:
        """Advance the org's detectors over the samples stored up to `now` (epoch ms)."""
        started = time.perf_counter()
        async with session_scope(self.database) as session:
            work, backlog = await read_work(session, org_id, now, self.config, self._inputs)
            await session.rollback()
        work = [w for w in work if w.points or w.rows]
        report = RunReport(backlog=backlog)
        for item in work:
            self._score(item)
        # Warm-up yields no scores, but its state and cursor must still be saved.
        work = [w for w in work if w.cursor is not None]
        if not work:
            return report
        async with session_scope(self.database) as session:
            stored = await write_work(session, org_id, work, now)
            if not stored:
                await session.rollback()
                report.conflicts = 1
                log.warning("live scoring skipped: another worker moved a cursor first")
                return report
        for item in work:
            if item.scores:
                values = [score for _, score in item.scores]
                if rises_past(self._newest.get(item.key), values, ALARM_THRESHOLD):
                    report.alarmed.add(item.service_id)
                self._newest[item.key] = values[-1]
        report.detectors = len(work)
        report.points = sum(w.scored for w in work)
        report.resets = sum(1 for w in work if w.reset)
        log.debug(
            "live scoring",
            extra={
                "org_id": org_id,
                "points": report.points,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return report

    # -- score --------------------------------------------------------------------------------

    def _detector(self, item: Work) -> AnyDetector:
        saved = item.saved
        inputs = [i.series_id for i in item.inputs]
        state: State | None = None
        if saved is not None and saved.state.get("inputs") == inputs:
            state = saved.state.get("detector")
        elif saved is not None:
            log.info("detector state reset: its inputs changed", extra={"series": item.key})
            item.reset = True
        detector, reset = resume(
            item.spec,
            state,
            saved.version if saved is not None else None,
            what=item.key,
        )
        item.reset = item.reset or reset
        return detector

    def _score(self, item: Work) -> None:
        detector = self._detector(item)
        if item.series_id is not None:
            stream = score_stream(
                detector, [t for t, _ in item.points], [v for _, v in item.points]
            )
        else:
            stream = score_stream(detector, item.row_ts, item.rows)
        item.scores, item.changes, item.cursor = stream.scores, stream.changes, stream.cursor
        inputs = [i.series_id for i in item.inputs]
        item.state = {"inputs": inputs, "detector": detector.state_dict()}


async def series_ids_of(
    session: AsyncSession, org_id: int, service: str, metric: str
) -> list[tuple[int, dict[str, str]]]:
    """Series of one metric of one service, with their labels."""
    rows = await session.execute(
        select(Series.id, Series.labels)
        .join(Service, Service.id == Series.service_id)
        .where(Series.org_id == org_id, Service.name == service, Series.metric == metric)
        .order_by(Series.labels_key)
    )
    return [(i, dict(labels)) for i, labels in rows]
