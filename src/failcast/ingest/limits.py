"""How many series an org may have, and how fast it may create them.

Each series costs every org something: a row and an index entry in the shared store, and a
share of every background pass (scoring, rollups, alert evaluation). An org that invents
labels without end (a request id in a label, say) would otherwise slow ingest and queries for
everyone. So each org has at most `max_series_per_org` series and creates at most
`max_new_series_per_minute` a minute. Known series are never affected.

Batch ingestion is all or nothing, so a batch that would break either limit is refused whole
(403 at the cap, 429 with Retry-After at the rate). Receivers whose senders cannot correct a
batch (Prometheus remote write, OTLP, scraping) keep the samples of the series they may create
and drop the rest, counted by reason.

The rate is counted per process in fixed one-minute windows: with N API processes an org can
create up to N times the rate, as with the other request limits. The cap is counted in the
store, so it holds across processes (two concurrent batches may overshoot it by one batch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.config import Settings
from failcast.errors import FailcastError, TooManyRequests
from failcast.models import Series

Clock = Callable[[], float]


class SeriesLimitReached(FailcastError):
    """The org has as many series as it may have; retrying will not help."""

    status_code = 403


@dataclass(frozen=True, slots=True)
class SeriesLimits:
    max_series: int
    per_minute: int

    @classmethod
    def from_settings(cls, settings: Settings) -> SeriesLimits:
        return cls(settings.max_series_per_org, settings.max_new_series_per_minute)


class SeriesBudget:
    """Decides how many new series an org may create now, and counts those it did."""

    def __init__(self, limits: SeriesLimits, clock: Clock = time.time) -> None:
        self.limits = limits
        self.clock = clock
        self._created: dict[int, tuple[int, int]] = {}  # org -> (minute, series created)

    def _used(self, org_id: int, minute: int) -> int:
        window, used = self._created.get(org_id, (minute, 0))
        return used if window == minute else 0

    async def admit(self, session: AsyncSession, org_id: int, wanted: int, *, partial: bool) -> int:
        """How many of `wanted` new series the org may create now. Unless `partial`, that is
        all of them or an error saying which limit is in the way."""
        now = self.clock()
        minute = int(now // 60)
        rate_room = max(0, self.limits.per_minute - self._used(org_id, minute))
        count = await session.scalar(
            select(func.count()).select_from(Series).where(Series.org_id == org_id)
        )
        room = max(0, self.limits.max_series - int(count or 0))
        allowed = min(wanted, room, rate_room)
        if allowed == wanted or partial:
            return allowed
        if room < wanted:
            raise SeriesLimitReached(
                f"the org has {count} series and may have at most {self.limits.max_series}; "
                f"this batch would add {wanted}"
            )
        retry_after = int((minute + 1) * 60 - now) + 1
        raise TooManyRequests(
            f"the org may create {self.limits.per_minute} new series a minute; this batch "
            f"would add {wanted} and {rate_room} are left in this minute",
            retry_after,
        )

    def spend(self, org_id: int, created: int) -> None:
        """Count series the org just created against its rate."""
        minute = int(self.clock() // 60)
        self._created[org_id] = (minute, self._used(org_id, minute) + created)
