"""Root-cause analysis on an org's stored samples and topology: the only part of `rca` that
reads the store."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.errors import ValidationFailed
from failcast.models import Series as SeriesRow
from failcast.models import Service
from failcast.rca.analysis import (
    SLOW_MS,
    Analysis,
    AnalysisError,
    Question,
    Series,
    analyse,
    series_name,
)
from failcast.store.ranges import Aggregation
from failcast.store.samples import read_range
from failcast.topology.service import SimulatedTopology, Source, org_spec

# Stored samples are read as one-minute means: finer than most scrape intervals' windows need,
# and a day of them for every series stays small.
STEP_MS = 60_000
MAX_POINTS = 5_000_000


async def load_series(
    session: AsyncSession, org_id: int, start_ms: int, end_ms: int
) -> list[Series]:
    """Every series of the org in [start, end) as one-minute means; one per label set."""
    rows = list(
        await session.execute(
            select(SeriesRow.id, Service.name, SeriesRow.metric, SeriesRow.labels)
            .join(Service, Service.id == SeriesRow.service_id)
            .where(SeriesRow.org_id == org_id)
        )
    )
    if not rows:
        return []
    start_ms -= start_ms % STEP_MS
    buckets = (end_ms - start_ms) // STEP_MS + 1
    limit = min(MAX_POINTS, len(rows) * buckets + 1)
    points = await read_range(
        session, [int(r[0]) for r in rows], start_ms, end_ms,
        step_ms=STEP_MS, agg=Aggregation.avg, limit=limit,
    )  # fmt: skip
    out = []
    for series_id, service, metric, labels in rows:
        found = points.get(int(series_id), [])
        if not found:
            continue
        ts = np.fromiter((p.ts for p in found), dtype=np.int64, count=len(found))
        values = np.fromiter((p.value for p in found), dtype=np.float64, count=len(found))
        out.append(Series(str(service), series_name(str(metric), dict(labels or {})), ts, values))
    return out


async def dependencies(
    session: AsyncSession, org_id: int, simulated: SimulatedTopology | None
) -> tuple[dict[str, tuple[str, ...]], Source]:
    """The org's call graph: declared, else the simulated fleet's, else services alone."""
    spec, source = await org_spec(session, org_id, simulated)
    deps: dict[str, list[str]] = defaultdict(list)
    for service in spec.services:
        deps[service.name] += [d.target for d in service.depends_on]
    return {k: tuple(v) for k, v in deps.items()}, source


async def analyse_org(
    session: AsyncSession, org_id: int, simulated: SimulatedTopology | None, question: Question
) -> tuple[Analysis, Source]:
    """The analysis of `question` on the org's data; a question the data cannot answer is a
    422 that says why."""
    lo = question.at_ms - question.before_ms
    start = lo - question.normal_ms - SLOW_MS
    end = question.at_ms + question.after_ms + 1
    series = await load_series(session, org_id, start, end)
    deps, source = await dependencies(session, org_id, simulated)
    try:
        return analyse(series, deps, question), source
    except AnalysisError as exc:
        raise ValidationFailed([{"field": exc.field, "msg": str(exc)}]) from None
