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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.engine import Database
from failcast.detect.base import BaseDetector, State
from failcast.detect.choices import specs_by_metric
from failcast.detect.live import (
    CHANGE_METRIC,
    DEFAULT_DETECTOR,
    SCORE_METRIC,
    SCORE_METRICS,
    SERVICE_DETECTOR,
    SERVICE_SCOPE,
    Spec,
    align,
    resume,
    rises_past,
    score_labels,
    score_stream,
    spec_version,
)
from failcast.detect.tail import ALARM_THRESHOLD
from failcast.ingest.validate import labels_key
from failcast.models import DetectorState, Series, Service
from failcast.store.samples import Aggregation, SampleRow, read_range, write_samples
from failcast.store.series import create_series

log = logging.getLogger("failcast.detect")

HOUR_MS = 3_600_000
Points = list[tuple[int, float]]


@dataclass(frozen=True)
class LiveConfig:
    """What live scoring runs and how much one run may take on."""

    detector: Spec = field(default_factory=lambda: dict(DEFAULT_DETECTOR))
    # None: no service-wide detector.
    service_detector: Spec | None = field(default_factory=lambda: dict(SERVICE_DETECTOR))
    max_series: int = 2_000  # detectors advanced per org and run
    max_points: int = 100_000  # samples read per org and run
    max_points_per_series: int = 5_000
    # A series seen for the first time is scored from this far back, not from its beginning.
    initial_lookback_ms: int = 24 * HOUR_MS
    # A service-wide vector over more series than this is not worth its covariance matrix.
    max_service_series: int = 40


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


@dataclass(frozen=True, slots=True)
class _Input:
    series_id: int
    service_id: int
    metric: str
    labels: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Saved:
    score_series_id: int
    detector: str
    version: str
    state: State
    cursor_ts: int
    scored_at: datetime


@dataclass
class _Work:
    """One detector to advance: a series, or a service's whole metric vector."""

    service_id: int
    metric: str  # the scored metric, or SERVICE_SCOPE
    labels: dict[str, str]
    inputs: list[_Input]
    spec: Spec
    saved: _Saved | None
    series_id: int | None = None
    points: Points = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)
    row_ts: list[int] = field(default_factory=list)
    scores: Points = field(default_factory=list)
    changes: Points = field(default_factory=list)
    cursor: int | None = None  # the newest input timestamp scored
    state: State = field(default_factory=dict)
    reset: bool = False

    @property
    def start(self) -> int | None:
        return None if self.saved is None else self.saved.cursor_ts + 1

    @property
    def scored(self) -> int:
        """Points (or rows) this run advanced the detector by."""
        return len(self.points) or len(self.rows)

    @property
    def key(self) -> str:
        return f"{self.service_id}/{self.metric}{self.labels or ''}"


class LiveScoring:
    """Scores an org's new samples; the periodic job (detect/tasks.py) runs it org by org."""

    def __init__(self, database: Database, config: LiveConfig | None = None) -> None:
        self.database = database
        self.config = config or LiveConfig()
        # The newest anomaly score of each detector this process stored, to tell a score that
        # rises past the alarm threshold from one that stays past it. After a restart an
        # anomaly still under way counts as rising once.
        self._newest: dict[str, float] = {}

    async def org_ids(self) -> list[int]:
        """Orgs with series to score."""
        async with self.database.session() as session:
            orgs = await session.scalars(
                select(Series.org_id).where(Series.metric.not_in(SCORE_METRICS)).distinct()
            )
            return sorted(orgs)

    async def run_org(self, org_id: int, now: int) -> RunReport:
        """Advance the org's detectors over the samples stored up to `now` (epoch ms)."""
        started = time.perf_counter()
        async with self.database.session() as session:
            work, backlog = await self._read(session, org_id, now)
            await session.rollback()
        work = [w for w in work if w.points or w.rows]
        report = RunReport(backlog=backlog)
        for item in work:
            self._score(item)
        # Warm-up yields no scores, but its state and cursor must still be saved.
        work = [w for w in work if w.cursor is not None]
        if not work:
            return report
        async with self.database.session() as session:
            try:
                stored = await self._write(session, org_id, work, now)
            except BaseException:
                await session.rollback()
                raise
            if not stored:
                await session.rollback()
                report.conflicts = 1
                log.warning("live scoring skipped: another worker moved a cursor first")
                return report
            await session.commit()
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

    # -- read ---------------------------------------------------------------------------------

    async def _read(self, session: AsyncSession, org_id: int, now: int) -> tuple[list[_Work], bool]:
        rows = await session.execute(
            select(Series.id, Series.service_id, Series.metric, Series.labels)
            .where(Series.org_id == org_id, Series.metric.not_in(SCORE_METRICS))
            .order_by(Series.id)
        )
        inputs = [_Input(i, s, m, dict(labels)) for i, s, m, labels in rows]
        saved_by_series: dict[int, _Saved] = {}
        saved_by_service: dict[int, _Saved] = {}
        for state in await session.scalars(
            select(DetectorState).where(DetectorState.org_id == org_id)
        ):
            saved = _Saved(
                state.score_series_id,
                state.detector,
                state.version,
                state.state,
                state.cursor_ts,
                state.scored_at,
            )
            if state.series_id is None:
                saved_by_service[state.service_id] = saved
            else:
                saved_by_series[state.series_id] = saved
        cfg = self.config
        picked = await specs_by_metric(session, org_id)
        work = [
            _Work(
                i.service_id,
                i.metric,
                i.labels,
                [i],
                picked.get((i.service_id, i.metric), cfg.detector),
                saved_by_series.get(i.series_id),
                series_id=i.series_id,
            )
            for i in inputs
        ]
        if cfg.service_detector is not None:
            by_service: dict[int, list[_Input]] = {}
            for i in inputs:
                by_service.setdefault(i.service_id, []).append(i)
            for service_id, members in by_service.items():
                if 2 <= len(members) <= cfg.max_service_series:
                    work.append(
                        _Work(
                            service_id,
                            SERVICE_SCOPE,
                            {},
                            members,
                            cfg.service_detector,
                            saved_by_service.get(service_id),
                        )
                    )
        oldest = datetime.min.replace(tzinfo=UTC)
        work.sort(key=lambda w: (w.saved.scored_at if w.saved else oldest, w.key))
        budget = cfg.max_points
        cache: dict[tuple[int, int], Points] = {}
        chosen: list[_Work] = []
        backlog = len(work) > cfg.max_series
        for item in work[: cfg.max_series]:
            if budget <= 0:
                backlog = True
                break
            start = item.start if item.start is not None else now - cfg.initial_lookback_ms
            limit = min(cfg.max_points_per_series, budget)
            per_input: dict[str, Points] = {}
            for i in item.inputs:
                key = (i.series_id, start)
                cached = cache.get(key)
                if cached is None:
                    points = await self._points(session, i.series_id, start, now, limit)
                    cache[key] = points
                    budget -= len(points)
                else:
                    points = cached[:limit]
                per_input[str(i.series_id)] = points
                backlog = backlog or len(points) >= limit
            if item.series_id is not None:
                item.points = per_input[str(item.series_id)]
            else:
                aligned = align([str(i.series_id) for i in item.inputs], per_input)
                item.row_ts, item.rows = aligned.ts, aligned.rows
            chosen.append(item)
        return chosen, backlog

    @staticmethod
    async def _points(
        session: AsyncSession, series_id: int, start: int, now: int, limit: int
    ) -> Points:
        found = await read_range(
            session, [series_id], start, now + 1, step_ms=None, agg=Aggregation.avg, limit=limit
        )
        return [(p.ts, p.value) for p in found[series_id]]

    # -- score --------------------------------------------------------------------------------

    def _detector(self, item: _Work) -> BaseDetector:
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

    def _score(self, item: _Work) -> None:
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

    # -- write --------------------------------------------------------------------------------

    async def _score_series(
        self, session: AsyncSession, org_id: int, work: Sequence[_Work], metric: str
    ) -> dict[int, int]:
        """The `metric` (anomaly or change score) series id of each work item (by position),
        created if new."""
        wanted: dict[int, tuple[int, str, str, dict[str, str]]] = {}
        for n, item in enumerate(work):
            labels = score_labels(item.metric, item.labels, str(item.spec["name"]))
            wanted[n] = (item.service_id, metric, labels_key(labels), labels)
        if not wanted:
            return {}
        ids = await create_series(
            session,
            org_id,
            list({(w[0], w[1], w[2]): w for w in wanted.values()}.values()),
        )
        return {n: ids[(s, m, key)] for n, (s, m, key, _) in wanted.items()}

    async def _write(
        self, session: AsyncSession, org_id: int, work: Sequence[_Work], now: int
    ) -> bool:
        """Store scores and states; False when a cursor moved since it was read."""
        targets = await self._score_series(session, org_id, work, SCORE_METRIC)
        rows: list[SampleRow] = []
        for n, item in enumerate(work):
            rows.extend((targets[n], ts, score) for ts, score in item.scores)
        with_changes = [item for item in work if item.changes]
        change_targets = await self._score_series(session, org_id, with_changes, CHANGE_METRIC)
        for n, item in enumerate(with_changes):
            rows.extend((change_targets[n], ts, change) for ts, change in item.changes)
        await write_samples(session, rows)
        at = datetime.fromtimestamp(now / 1000, UTC)
        table = cast(Table, DetectorState.__table__)
        for n, item in enumerate(work):
            values: dict[str, Any] = {
                "org_id": org_id,
                "service_id": item.service_id,
                "series_id": item.series_id,
                "detector": str(item.spec["name"]),
                "version": spec_version(item.spec),
                "state": item.state,
                "cursor_ts": item.cursor,
                "scored_at": at,
            }
            saved = item.saved
            if saved is not None and saved.score_series_id == targets[n]:
                result = await session.execute(
                    update(table)
                    .where(
                        table.c.score_series_id == saved.score_series_id,
                        table.c.cursor_ts == saved.cursor_ts,
                    )
                    .values(points=table.c.points + item.scored, **values)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    return False
                continue
            if saved is not None:
                # Another detector now scores this input: its scores go to a new series.
                result = await session.execute(
                    delete(table).where(
                        table.c.score_series_id == saved.score_series_id,
                        table.c.cursor_ts == saved.cursor_ts,
                    )
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    return False
            exists = await session.scalar(
                select(table.c.score_series_id).where(table.c.score_series_id == targets[n])
            )
            if exists is not None:
                return False
            await session.execute(
                insert(table).values(score_series_id=targets[n], points=item.scored, **values)
            )
        return True


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
