"""Query rules: parse ranges and matchers, pick series, read points, page through logs."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.cursors import MAX_BIGINT
from failcast.errors import ValidationFailed
from failcast.ingest.schemas import LogLevel
from failcast.models import LogEntry, Sample, SampleChunk, Series, Service
from failcast.timeutil import now_ms, parse_duration_ms, parse_ts


def problem(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "msg": msg}])


def parse_time_param(field: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return parse_ts(value)
    except ValueError as exc:
        raise problem(field, str(exc)) from None


@dataclass(frozen=True, slots=True)
class TimeRange:
    start_ms: int
    end_ms: int
    step_ms: int | None


def parse_range(
    start: str | None, end: str | None, step: str | None, default_span_ms: int = 3_600_000
) -> TimeRange:
    end_ms = parse_time_param("end", end, now_ms())
    start_ms = parse_time_param("start", start, end_ms - default_span_ms)
    if start_ms >= end_ms:
        raise problem("start", "start must be before end")
    step_ms = None
    if step:
        try:
            step_ms = parse_duration_ms(step)
        except ValueError as exc:
            raise problem("step", str(exc)) from None
    return TimeRange(start_ms, end_ms, step_ms)


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


def encode_cursor(ts: int, id_: int) -> str:
    return base64.urlsafe_b64encode(f"{ts}:{id_}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        ts, id_ = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        decoded = int(ts), int(id_)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise problem("cursor", "not a cursor returned by this endpoint") from None
    if not (abs(decoded[0]) <= MAX_BIGINT and 0 <= decoded[1] <= MAX_BIGINT):
        raise problem("cursor", "not a cursor returned by this endpoint")
    return decoded


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
) -> tuple[list[tuple[LogEntry, str]], str | None]:
    """Newest first; the cursor continues strictly after the last line of the previous page."""
    statement = (
        select(LogEntry, Service.name)
        .join(Service, Service.id == LogEntry.service_id)
        .where(LogEntry.org_id == org_id, LogEntry.ts >= start_ms, LogEntry.ts < end_ms)
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
    sample_row = (
        await session.execute(
            select(func.count(), func.min(Sample.ts), func.max(Sample.ts))
            .select_from(Sample)
            .join(Series, Series.id == Sample.series_id)
            .where(Series.org_id == org_id)
        )
    ).one()
    # Compacted samples (store/chunks.py); one rewritten after its window was compacted counts
    # twice until the next compaction merges it.
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
    logs = await session.scalar(select(func.count()).where(LogEntry.org_id == org_id))
    oldest = [t for t in (sample_row[1], chunk_row[1]) if t is not None]
    newest = [t for t in (sample_row[2], chunk_row[2]) if t is not None]
    return Stats(
        services=services or 0,
        series=series or 0,
        samples=(sample_row[0] or 0) + int(chunk_row[0] or 0),
        logs=logs or 0,
        oldest_ms=min(oldest, default=None),
        newest_ms=max(newest, default=None),
    )
