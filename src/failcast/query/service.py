"""Query rules: parse ranges and matchers, pick series, read points, page through logs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.kit.params import decode_cursor, encode_cursor, problem
from failcast.models import LogEntry, LogLevel, Sample, SampleChunk, Series, Service
from failcast.store.labels import BadMatcher, Matcher, parse_beside_metric
from failcast.store.remote import samples_engine
from failcast.teams.service import EVERYTHING, Visibility
from failcast.timeutil import now_ms


def parse_matchers(raw: list[str]) -> dict[str, str]:
    """`region=eu` pairs, repeated or comma-separated, into a label dict."""
    matchers: dict[str, str] = {}
    for chunk in raw:
        for pair in chunk.split(","):
            if not pair.strip():
                continue
            name, sep, value = pair.partition("=")
            if not sep or not name.strip():
                raise problem("labels", f"expected name=value, got {pair!r}")
            matchers[name.strip()] = value.strip().strip('"')
    return matchers


def parse_selector_param(field: str, text: str) -> list[Matcher]:
    """The matchers of a PromQL series selector used beside the `metric` parameter; 422
    naming the matcher that is wrong."""
    try:
        return parse_beside_metric(text)
    except BadMatcher as exc:
        raise problem(field, str(exc)) from None


async def search_logs(
    session: AsyncSession,
    org_id: int,
    *,
    service: str | None,
    level: LogLevel | None,
    contains: str | None,
    start_ms: int,
    end_ms: int,
    cursor: str | None,
    limit: int,
    seen: Visibility = EVERYTHING,
) -> tuple[list[tuple[LogEntry, str]], str | None]:
    """Newest first, of the services `seen` admits; the cursor continues strictly after the
    last line of the previous page."""
    statement = (
        select(LogEntry, Service.name)
        .join(Service, Service.id == LogEntry.service_id)
        .where(LogEntry.org_id == org_id, LogEntry.ts >= start_ms, LogEntry.ts < end_ms)
        .where(seen.where(Service.name))
    )
    if service is not None:
        statement = statement.where(Service.name == service)
    if level is not None:
        statement = statement.where(LogEntry.level == level.value)
    if contains:
        statement = statement.where(LogEntry.message.contains(contains, autoescape=True))
    if cursor is not None:
        ts, id_ = decode_cursor(cursor)
        statement = statement.where(tuple_(LogEntry.ts, LogEntry.id) < tuple_(ts, id_))
    statement = statement.order_by(LogEntry.ts.desc(), LogEntry.id.desc()).limit(limit + 1)
    rows = [(entry, name) for entry, name in await session.execute(statement)]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor(last.ts, last.id)
    return rows, next_cursor


@dataclass(frozen=True, slots=True)
class Stats:
    services: int
    series: int
    samples: int
    logs: int
    oldest_ms: int | None
    newest_ms: int | None


async def org_stats(session: AsyncSession, org_id: int) -> Stats:
    services = await session.scalar(select(func.count()).where(Service.org_id == org_id))
    series = await session.scalar(select(func.count()).where(Series.org_id == org_id))
    if (remote := samples_engine(session)) is not None:
        summary = await remote.queries.summary(org_id, None, now_ms())
        count, oldest, newest = summary.samples, summary.oldest_ms, summary.newest_ms
    else:
        sample_row = (
            await session.execute(
                select(func.count(), func.min(Sample.ts), func.max(Sample.ts))
                .select_from(Sample)
                .join(Series, Series.id == Sample.series_id)
                .where(Series.org_id == org_id)
            )
        ).one()
        # Compacted samples (store/chunks.py); one rewritten after its window was compacted
        # counts twice until the next compaction merges it.
        chunk_row = (
            await session.execute(
                select(
                    func.sum(SampleChunk.count), func.min(SampleChunk.first_ts),
                    func.max(SampleChunk.last_ts),
                )
                .join(Series, Series.id == SampleChunk.series_id)
                .where(Series.org_id == org_id)
            )
        ).one()  # fmt: skip
        count = (sample_row[0] or 0) + int(chunk_row[0] or 0)
        oldest = min((t for t in (sample_row[1], chunk_row[1]) if t is not None), default=None)
        newest = max((t for t in (sample_row[2], chunk_row[2]) if t is not None), default=None)
    logs = await session.scalar(select(func.count()).where(LogEntry.org_id == org_id))
    return Stats(
        services=services or 0,
        series=series or 0,
        samples=count,
        logs=logs or 0,
        oldest_ms=oldest,
        newest_ms=newest,
    )
