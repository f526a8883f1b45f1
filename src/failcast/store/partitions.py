"""Daily partitions of the `sample` table on PostgreSQL: create ahead, fold the default
partition's rows into their day, drop whole days past retention.

The partitions live in their own schema, `sample_partitions`, so that the application's
schema shows one `sample` table whatever the number of days kept. Each day gets a BRIN index
on `ts`: samples arrive in time order, so a tiny index answers "this hour of every series",
which the rollup job asks once an hour. A DEFAULT partition catches samples for days that
have no partition yet (a backfill), so no write ever fails for want of one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SCHEMA = "sample_partitions"
DEFAULT_PARTITION = f"{SCHEMA}.sample_default"
DAY_MS = 86_400_000
# pg_advisory_xact_lock key: one maintenance pass at a time, whoever runs it.
_LOCK_KEY = 0x5A3D_0001


def day_of(ts_ms: int) -> int:
    """The start (ms) of the UTC day holding `ts_ms`."""
    return ts_ms - ts_ms % DAY_MS


def partition_name(day_ms: int) -> str:
    """`sample_YYYYMMDD` for the UTC day starting at `day_ms`."""
    return "sample_" + datetime.fromtimestamp(day_ms / 1000, UTC).strftime("%Y%m%d")


def day_from_name(name: str) -> int | None:
    """The day start (ms) a partition name stands for, or None for other tables."""
    digits = name.removeprefix("sample_")
    if len(digits) != 8 or not digits.isdigit():
        return None
    day = datetime.strptime(digits, "%Y%m%d").replace(tzinfo=UTC)
    return int(day.timestamp() * 1000)


@dataclass
class MaintenanceReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    moved_rows: int = 0
    expired_default_rows: int = 0


async def is_partitioned(session: AsyncSession) -> bool:
    """Whether this store's `sample` table is partitioned (PostgreSQL after the migration)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    kind = await session.scalar(
        text("SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass('sample')")
    )
    return bool(kind == "p")


async def partition_days(session: AsyncSession) -> list[int]:
    """The day starts of the existing day partitions, oldest first."""
    rows = await session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass('sample')"
        )
    )
    days = (day_from_name(name) for name in rows)
    return sorted(day for day in days if day is not None)


async def _create_day(session: AsyncSession, day: int) -> None:
    name = f"{SCHEMA}.{partition_name(day)}"
    bounds = f"FOR VALUES FROM ({day}) TO ({day + DAY_MS})"
    waiting = await session.scalar(
        text(f"SELECT count(*) FROM {DEFAULT_PARTITION} WHERE ts >= :lo AND ts < :hi"),
        {"lo": day, "hi": day + DAY_MS},
    )
    if waiting:
        # A new partition may not overlap rows in DEFAULT: lift them out, create, put back,
        # all in this transaction so readers never see them missing.
        await session.execute(
            text(
                "CREATE TEMP TABLE sample_moving ON COMMIT DROP AS "
                f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE ts >= :lo AND ts < :hi "
                "RETURNING series_id, ts, value) SELECT * FROM moved"
            ),
            {"lo": day, "hi": day + DAY_MS},
        )
    await session.execute(text(f"CREATE TABLE {name} PARTITION OF sample {bounds}"))
    await session.execute(
        text(f"CREATE INDEX {partition_name(day)}_ts_brin ON {name} USING brin (ts)")
    )
    if waiting:
        await session.execute(text("INSERT INTO sample SELECT * FROM sample_moving"))
        await session.execute(text("DROP TABLE sample_moving"))


async def ensure_days(session: AsyncSession, days: Iterable[int]) -> list[str]:
    """Create the day partitions of `days` that do not exist yet; return their names."""
    existing = set(await partition_days(session))
    created = []
    for day in sorted({day_of(d) for d in days} - existing):
        await _create_day(session, day)
        created.append(partition_name(day))
    return created


async def maintain(
    session: AsyncSession, now_ms: int, *, days_ahead: int, retention_ms: int
) -> MaintenanceReport:
    """One maintenance pass in the session's transaction; the caller commits."""
    report = MaintenanceReport()
    if not await is_partitioned(session):
        return report
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    cutoff = day_of(now_ms - retention_ms)
    expired = await session.execute(
        text(f"DELETE FROM {DEFAULT_PARTITION} WHERE ts < :cutoff"), {"cutoff": cutoff}
    )
    report.expired_default_rows = expired.rowcount  # type: ignore[attr-defined]
    stray = await session.scalars(
        text(f"SELECT DISTINCT ts - ts % {DAY_MS} FROM {DEFAULT_PARTITION}")
    )
    stray_days = [int(day) for day in stray]
    if stray_days:
        report.moved_rows = int(
            await session.scalar(text(f"SELECT count(*) FROM {DEFAULT_PARTITION}")) or 0
        )
    today = day_of(now_ms)
    wanted = [today + k * DAY_MS for k in range(-1, days_ahead + 1)] + stray_days
    report.created = await ensure_days(session, wanted)
    for day in await partition_days(session):
        if day + DAY_MS <= cutoff:
            await session.execute(text(f"DROP TABLE {SCHEMA}.{partition_name(day)}"))
            report.dropped.append(partition_name(day))
    return report
