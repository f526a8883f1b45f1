"""Live scoring's batch against the store: read the detectors to advance with their new
samples (step 1 of detect/service.py), and write their scores, states and cursors back on
the condition that no cursor moved (step 3)."""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.engine import begin_writing
from failcast.detect.choices import specs_by_metric
from failcast.detect.live import (
    CHANGE_METRIC,
    SCORE_METRIC,
    SCORE_METRICS,
    align,
    score_labels,
    spec_version,
)
from failcast.detect.live_work import Candidate, Input, LiveConfig, Points, Saved, Work
from failcast.ingest.validate import labels_key
from failcast.models import DetectorState, Series
from failcast.store.ranges import Aggregation, RangeRead
from failcast.store.samples import read_pairs, write_sample_columns
from failcast.store.series import create_series

log = logging.getLogger("failcast.detect")
# Series read together for their new points.
SERIES_PER_READ = 200
# Detector states checked per statement before a run's write.
STATES_PER_CHECK = 1_000
# An org held at its score series cap is named in the log once in this long.
CAP_WARNING_SECONDS = 3600.0
_cap_warned: dict[int, float] = {}


class InputCache:
    """Each org's scored series, read whole once and then only those created since.

    A series' labels never change, so a run, every few seconds, reads the catalogue's new
    rows rather than every row and its labels again. A count that differs from the cached
    series plus the new ones means series were deleted, or one committed late with a lower id
    than one already seen; then the org is read whole.
    """

    def __init__(self, max_orgs: int = 1_000) -> None:
        self.max_orgs = max_orgs
        self._orgs: dict[int, list[Input]] = {}

    async def inputs(self, session: AsyncSession, org_id: int) -> list[Input]:
        scored = (Series.org_id == org_id, Series.metric.not_in(SCORE_METRICS))
        cached = self._orgs.get(org_id)
        if cached is not None:
            newest = cached[-1].series_id if cached else 0
            new = await _inputs(session, *scored, Series.id > newest)
            count = await session.scalar(select(func.count()).select_from(Series).where(*scored))
            if count == len(cached) + len(new):
                cached.extend(new)
                return list(cached)
        whole = await _inputs(session, *scored)
        if org_id not in self._orgs and len(self._orgs) >= self.max_orgs:
            self._orgs.clear()
        self._orgs[org_id] = whole
        return list(whole)


async def _inputs(session: AsyncSession, *where: ColumnElement[bool]) -> list[Input]:
    rows = await session.execute(
        select(Series.id, Series.service_id, Series.metric, Series.labels)
        .where(*where)
        .order_by(Series.id)
    )
    return [Input(i, s, m, dict(labels)) for i, s, m, labels in rows]


async def read_work(
    session: AsyncSession,
    org_id: int,
    now: int,
    cfg: LiveConfig,
    cache: InputCache | None = None,
) -> tuple[list[Work], bool]:
    """The detectors to advance, least recently scored first, with the samples that arrived
    since their cursors (within the run's budgets); and whether some are left for later."""
    inputs = await (cache or InputCache()).inputs(session, org_id)
    saved_by_series: dict[int, Saved] = {}
    saved_by_service: dict[int, Saved] = {}
    states = await session.execute(
        select(
            DetectorState.score_series_id,
            DetectorState.detector,
            DetectorState.version,
            DetectorState.cursor_ts,
            DetectorState.scored_at,
            DetectorState.series_id,
            DetectorState.service_id,
        ).where(DetectorState.org_id == org_id)
    )
    for score_series_id, detector, version, cursor_ts, scored_at, series_id, service_id in states:
        saved = Saved(score_series_id, detector, version, cursor_ts, scored_at)
        if series_id is None:
            saved_by_service[service_id] = saved
        else:
            saved_by_series[series_id] = saved
    candidates = [Candidate.of_series(i, saved_by_series.get(i.series_id)) for i in inputs]
    if cfg.service_detector is not None:
        by_service: dict[int, list[Input]] = {}
        for i in inputs:
            by_service.setdefault(i.service_id, []).append(i)
        candidates += [
            Candidate.of_service(s, members, saved_by_service.get(s))
            for s, members in by_service.items()
            if 2 <= len(members) <= cfg.max_service_series
        ]
    if cfg.max_score_series is not None:
        candidates = await _within_score_cap(session, org_id, candidates, cfg.max_score_series)
    oldest = datetime.min.replace(tzinfo=UTC)
    # The run's share, in order, without sorting every detector of the org.
    share = heapq.nsmallest(
        cfg.max_series,
        candidates,
        key=lambda c: (c.saved.scored_at if c.saved else oldest, c.key),
    )
    backlog = len(candidates) > cfg.max_series
    picked = await specs_by_metric(session, org_id)
    picked_work = [c.work(cfg, picked) for c in share]
    starts = [
        w.start if w.start is not None else now - cfg.initial_lookback_ms for w in picked_work
    ]
    fetched, cut = await _read_inputs(session, picked_work, starts, now, cfg)
    backlog = backlog or cut
    budget = cfg.max_points
    counted: set[tuple[int, int]] = set()
    chosen: list[Work] = []
    for item, start in zip(picked_work, starts, strict=True):
        if budget <= 0:
            backlog = True
            break
        limit = min(cfg.max_points_per_series, budget)
        per_input: dict[str, Points] = {}
        for i in item.inputs:
            key = (i.series_id, start)
            points = fetched.get(key, [])[:limit]
            if key not in counted:
                counted.add(key)
                budget -= len(points)
            per_input[str(i.series_id)] = points
            backlog = backlog or len(points) >= limit
        if item.series_id is not None:
            item.points = per_input[str(item.series_id)]
        else:
            aligned = align([str(i.series_id) for i in item.inputs], per_input)
            item.row_ts, item.rows = aligned.ts, aligned.rows
        chosen.append(item)
    await _read_states(session, chosen)
    return chosen, backlog


async def _read_states(session: AsyncSession, work: Sequence[Work]) -> None:
    """The saved detector states of the work chosen, in place of the empty ones."""
    by_score_series = {w.saved.score_series_id: w for w in work if w.saved is not None}
    ids = sorted(by_score_series)
    for first in range(0, len(ids), SERIES_PER_READ):
        rows = await session.execute(
            select(DetectorState.score_series_id, DetectorState.state).where(
                DetectorState.score_series_id.in_(ids[first : first + SERIES_PER_READ])
            )
        )
        for score_series_id, state in rows:
            item = by_score_series[score_series_id]
            assert item.saved is not None
            item.saved = replace(item.saved, state=state)


async def _read_inputs(
    session: AsyncSession, work: Sequence[Work], starts: Sequence[int], now: int, cfg: LiveConfig
) -> tuple[dict[tuple[int, int], Points], bool]:
    """The new points of every input of `work`, keyed by (series, start): one read per run of
    series that share a start (most do, as a scrape or remote write stamps them alike),
    instead of one per series. Each series keeps its first `max_points_per_series` points; the
    run reads at most `max_points` in all. Also whether a read stopped at its limit, so
    that some points are left for the next run."""
    by_start: dict[int, dict[int, None]] = {}  # insertion-ordered sets
    for item, start in zip(work, starts, strict=True):
        for i in item.inputs:
            by_start.setdefault(start, {})[i.series_id] = None
    fetched: dict[tuple[int, int], Points] = {}
    left = cfg.max_points
    cut = False
    for start, unique in by_start.items():
        ids = list(unique)
        for first in range(0, len(ids), SERIES_PER_READ):
            if left <= 0:
                return fetched, True
            group = ids[first : first + SERIES_PER_READ]
            limit = min(left, cfg.max_points_per_series * len(group))
            found = await read_pairs(
                session,
                RangeRead(
                    group,
                    start,
                    now + 1,
                    step_ms=None,
                    agg=Aggregation.avg,
                    limit=limit,
                    per_series=cfg.max_points_per_series,
                ),
            )
            read = sum(len(points) for points in found.values())
            left -= read
            cut = cut or read >= limit
            for series_id in group:
                fetched[(series_id, start)] = found.get(series_id, [])
    return fetched, cut


async def _within_score_cap(
    session: AsyncSession, org_id: int, candidates: list[Candidate], cap: int
) -> list[Candidate]:
    """The candidates that create no more score series than the org has room for: every
    detector that has its series already, then new ones in a stable order while room is left."""
    held = await session.scalar(
        select(func.count())
        .select_from(Series)
        .where(Series.org_id == org_id, Series.metric.in_(SCORE_METRICS))
    )
    room = cap - int(held or 0)
    fresh = sorted((c for c in candidates if c.saved is None), key=lambda c: c.key)
    if len(fresh) <= room:
        return candidates
    admitted = {id(c) for c in fresh[: max(0, room)]}
    now = time.monotonic()
    if now - _cap_warned.get(org_id, -CAP_WARNING_SECONDS) >= CAP_WARNING_SECONDS:
        _cap_warned[org_id] = now
        log.warning(
            "org %s holds %s score series of at most %s: %s series or services go unscored",
            org_id,
            held,
            cap,
            len(fresh) - len(admitted),
        )
    return [c for c in candidates if c.saved is not None or id(c) in admitted]


async def _score_series(
    session: AsyncSession, org_id: int, work: Sequence[Work], metric: str
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


async def write_work(session: AsyncSession, org_id: int, work: Sequence[Work], now: int) -> bool:
    """Store scores and states; False when a cursor moved since it was read."""
    targets = await _score_series(session, org_id, work, SCORE_METRIC)
    with_changes = [item for item in work if item.changes]
    change_targets = await _score_series(session, org_id, with_changes, CHANGE_METRIC)
    scored = [(targets[n], item.scores) for n, item in enumerate(work)]
    scored += [(change_targets[n], item.changes) for n, item in enumerate(with_changes)]
    # As columns, without a row per score: live scoring writes one for every sample read.
    ids: list[int] = []
    stamps: list[int] = []
    readings: list[float] = []
    for target, points in scored:
        if points:
            ids += [target] * len(points)
            times, numbers = zip(*points, strict=True)
            stamps += times
            readings += numbers
    await write_sample_columns(session, ids, stamps, readings)
    at = datetime.fromtimestamp(now / 1000, UTC)
    table = cast(Table, DetectorState.__table__)
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    moved: list[int] = []  # states of inputs another detector now scores, into a new series
    expected: dict[int, int] = {}  # score series -> the cursor this run read
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
        if saved is not None:
            expected[saved.score_series_id] = saved.cursor_ts
        if saved is not None and saved.score_series_id == targets[n]:
            updates.append({"sid": saved.score_series_id, "scored": item.scored, **values})
            continue
        if saved is not None:
            moved.append(saved.score_series_id)
        inserts.append({"score_series_id": targets[n], "points": item.scored, **values})
    if not await _cursors_unmoved(
        session, table, expected, [i["score_series_id"] for i in inserts]
    ):
        return False
    if moved:
        await session.execute(delete(table).where(table.c.score_series_id.in_(moved)))
    if updates:
        await session.execute(
            update(table)
            .where(table.c.score_series_id == bindparam("sid"))
            .values(points=table.c.points + bindparam("scored")),
            updates,
        )
    if inserts:
        await session.execute(insert(table), inserts)
    return True


async def _cursors_unmoved(
    session: AsyncSession, table: Table, expected: dict[int, int], fresh: Sequence[int]
) -> bool:
    """Whether every saved state still holds the cursor this run read and no state exists yet
    for the score series about to be created; the rows stay locked until the transaction ends
    (PostgreSQL's FOR UPDATE, SQLite's write lock)."""
    await begin_writing(await session.connection())
    held: dict[int, int] = {}
    wanted = sorted({*expected, *fresh})
    for first in range(0, len(wanted), STATES_PER_CHECK):
        rows = await session.execute(
            select(table.c.score_series_id, table.c.cursor_ts)
            .where(table.c.score_series_id.in_(wanted[first : first + STATES_PER_CHECK]))
            .with_for_update()
        )
        held.update((int(sid), int(cursor)) for sid, cursor in rows)
    return held == expected
