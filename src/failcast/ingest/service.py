"""Resolve services and series (creating unknown ones), then store a batch in one transaction.

New series are created in short transactions of their own, committed before the samples are
written, and only as many as the org's series limits admit (ingest/limits.py): a flood of new
label sets from one org must neither hold the store's write lock for long nor grow without
bound. A series created for a batch whose samples then fail to be written stays, empty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.upsert import insert_ignoring_conflicts
from failcast.ingest.limits import SeriesBudget
from failcast.ingest.schemas import IngestResult, LogIn
from failcast.ingest.validate import SampleBatch, SeriesKey, ValidSample
from failcast.live.events import stage
from failcast.models import LogEntry, Series, Service
from failcast.store.samples import write_sample_columns

# Called before new services are created, or before a batch of samples is written; raising
# (e.g. a plan limit) rejects the whole batch. Known services and series never reach the first.
NewServicesHook = Callable[[AsyncSession, int, Sequence[str]], Awaitable[None]]
SamplesHook = Callable[[AsyncSession, int, int], Awaitable[None]]
# New series are inserted (and, in short transactions, committed) this many at a time.
SERIES_CHUNK = 500


class Ingestor:
    """Stores batches for every org. Holds a cache of series ids that were committed."""

    def __init__(
        self,
        max_cached_series: int = 200_000,
        *,
        on_new_services: NewServicesHook | None = None,
        on_samples: SamplesHook | None = None,
        budget: SeriesBudget | None = None,
    ) -> None:
        self._series: dict[tuple[int, SeriesKey], int] = {}
        self._services: dict[tuple[int, str], int] = {}
        self._max = max_cached_series
        self.on_new_services = on_new_services
        self.on_samples = on_samples
        # Per-org series limits; None (benchmarks, tools) admits every new series.
        self.budget = budget

    def forget(self) -> None:
        self._series.clear()
        self._services.clear()

    async def _service_ids(
        self, session: AsyncSession, org_id: int, names: Iterable[str]
    ) -> tuple[dict[str, int], int]:
        wanted = set(names)
        known = {n: self._services[(org_id, n)] for n in wanted if (org_id, n) in self._services}
        missing = wanted - known.keys()
        if not missing:
            return known, 0
        existing = await self._select_services(session, org_id, missing)
        to_create = missing - existing.keys()
        if to_create and self.on_new_services is not None:
            await self.on_new_services(session, org_id, sorted(to_create))
        await insert_ignoring_conflicts(
            session,
            Service.__table__,  # type: ignore[arg-type]
            [{"org_id": org_id, "name": n, "kind": "microservice"} for n in sorted(to_create)],
            ["org_id", "name"],
        )
        if to_create:
            existing |= await self._select_services(session, org_id, to_create)
        return known | existing, len(to_create)

    @staticmethod
    async def _select_services(
        session: AsyncSession, org_id: int, names: set[str]
    ) -> dict[str, int]:
        rows = await session.execute(
            select(Service.name, Service.id).where(
                Service.org_id == org_id, Service.name.in_(sorted(names))
            )
        )
        return {name: id_ for name, id_ in rows}

    async def _series_ids(
        self,
        session: AsyncSession,
        org_id: int,
        keys: dict[SeriesKey, dict[str, str]],
        *,
        partial: bool,
        commit: bool,
    ) -> tuple[dict[SeriesKey, int], int, int]:
        """Ids of the batch's series, creating the new ones the org's limits admit: all of
        them or an error, or (`partial`) as many as admitted. With `commit`, services and
        series are committed in short transactions before the caller writes samples."""
        resolved = {k: self._series[(org_id, k)] for k in keys if (org_id, k) in self._series}
        missing = [k for k in keys if k not in resolved]
        if not missing:
            return resolved, 0, 0
        services = await self._select_services(session, org_id, {k[0] for k in missing})
        wanted = {(services[k[0]], k[1], k[2]): k for k in missing if k[0] in services}
        if wanted:
            found = await self._select_series(session, list(wanted))
            resolved |= {wanted[t]: series_id for t, series_id in found.items()}
        new = [k for k in missing if k not in resolved]
        if not new:
            return resolved, 0, 0
        if self.budget is not None:
            new = new[: await self.budget.admit(session, org_id, len(new), partial=partial)]
            if not new:
                return resolved, 0, 0
        service_ids, services_created = await self._service_ids(
            session, org_id, {k[0] for k in new}
        )
        if commit:
            await session.commit()
        triples = [(service_ids[k[0]], k[1], k[2]) for k in new]
        for start in range(0, len(new), SERIES_CHUNK):
            rows = [
                {
                    "org_id": org_id,
                    "service_id": service_id,
                    "metric": metric,
                    "labels": keys[key],
                    "labels_key": labels_key,
                }
                for (service_id, metric, labels_key), key in zip(
                    triples[start : start + SERIES_CHUNK],
                    new[start : start + SERIES_CHUNK],
                    strict=True,
                )
            ]
            await insert_ignoring_conflicts(
                session,
                Series.__table__,  # type: ignore[arg-type]
                rows,
                ["service_id", "metric", "labels_key"],
            )
            if commit:
                await session.commit()
        if self.budget is not None:
            self.budget.spend(org_id, len(new))
        created = await self._select_series(session, triples)
        resolved |= {k: created[t] for t, k in zip(triples, new, strict=True) if t in created}
        return resolved, services_created, len(new)

    @staticmethod
    async def _select_series(
        session: AsyncSession, triples: Sequence[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], int]:
        found: dict[tuple[int, str, str], int] = {}
        for start in range(0, len(triples), 500):
            chunk = triples[start : start + 500]
            rows = await session.execute(
                select(Series.service_id, Series.metric, Series.labels_key, Series.id).where(
                    tuple_(Series.service_id, Series.metric, Series.labels_key).in_(chunk)
                )
            )
            for service_id, metric, key, series_id in rows:
                found[(service_id, metric, key)] = series_id
        return found

    def _remember(
        self, org_id: int, series: dict[SeriesKey, int], services: dict[str, int]
    ) -> None:
        if len(self._series) + len(series) > self._max:
            self.forget()
        for key, series_id in series.items():
            self._series[(org_id, key)] = series_id
        for name, service_id in services.items():
            self._services[(org_id, name)] = service_id

    async def ingest_samples(
        self,
        session: AsyncSession,
        org_id: int,
        samples: Sequence[ValidSample],
        *,
        partial: bool = False,
        commit_series_first: bool = True,
    ) -> IngestResult:
        """Store every sample of the batch, or (on any error) none of them; see
        `ingest_batch`."""
        return await self.ingest_batch(
            session,
            org_id,
            SampleBatch.of(samples),
            partial=partial,
            commit_series_first=commit_series_first,
        )

    async def ingest_batch(
        self,
        session: AsyncSession,
        org_id: int,
        batch: SampleBatch,
        *,
        partial: bool = False,
        commit_series_first: bool = True,
    ) -> IngestResult:
        """Store every sample of a validated batch, or (on any error) none of them.

        A batch needing more new series than the org's limits admit is refused (403, 429),
        unless `partial`: then the samples of the series that could not be created are left
        out, and `accepted` says how many were stored. New series are committed before the
        samples (whatever the session had pending with them) unless `commit_series_first`
        is false, for callers whose own writes must stand or fall with the samples.
        """
        try:
            if self.on_samples is not None:
                await self.on_samples(session, org_id, len(batch))
            series, services_created, series_created = await self._series_ids(
                session,
                org_id,
                dict(zip(batch.series, batch.labels, strict=True)),
                partial=partial,
                commit=commit_series_first,
            )
            ids = [series.get(key, 0) for key in batch.series]
            index, ts, values = batch.index, batch.ts, batch.values
            if len(series) < len(batch.series):
                kept = [i for i, position in enumerate(index) if ids[position]]
                index = [index[i] for i in kept]
                ts = [ts[i] for i in kept]
                values = [values[i] for i in kept]
            await write_sample_columns(session, list(map(ids.__getitem__, index)), ts, values)
            stage(session, org_id, {"type": "ingest", "samples": len(ts)})
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        self._remember(org_id, series, {})
        return IngestResult(
            accepted=len(ts),
            services_created=services_created,
            series_created=series_created,
        )

    async def ingest_logs(
        self, session: AsyncSession, org_id: int, logs: Sequence[LogIn]
    ) -> IngestResult:
        try:
            services, services_created = await self._service_ids(
                session, org_id, {log.service for log in logs}
            )
            rows = [
                {
                    "org_id": org_id,
                    "service_id": services[log.service],
                    "ts": log.ts,
                    "level": log.level.value,
                    "message": log.message,
                    "attributes": log.attributes,
                    "fingerprint": log_fingerprint(log),
                }
                for log in logs
            ]
            await insert_ignoring_conflicts(
                session,
                LogEntry.__table__,  # type: ignore[arg-type]
                rows,
                ["service_id", "ts", "fingerprint"],
            )
            stage(session, org_id, {"type": "ingest", "logs": len(logs)})
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        self._remember(org_id, {}, services)
        return IngestResult(accepted=len(logs), services_created=services_created)


def log_fingerprint(log: LogIn) -> str:
    payload = json.dumps(
        [log.level.value, log.message, sorted(log.attributes.items())],
        separators=(",", ":"),
        default=str,
    )
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()
