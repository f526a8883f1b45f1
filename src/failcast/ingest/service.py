"""Resolve services and series (creating unknown ones), then store a batch in one transaction.

New series are created in short transactions of their own, committed before the samples are
written, and only as many as the org's series limits admit (ingest/limits.py): a flood of new
label sets from one org must neither hold the store's write lock for long nor grow without
bound. A series created for a batch whose samples then fail to be written stays, empty. A series is
created together with its entries in the label index (store/series.py).

Two caches, bounded and kept across batches, spare known series most of the work: the label
sets validation accepted before (`known`, by the labels as the client sends them), and the
ids of committed series. Only series that are new to them are added; a batch of known series
neither validates their labels again nor writes to either cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.transactions import release
from failcast.db.upsert import insert_ignoring_conflicts
from failcast.ingest.cache import Lru
from failcast.ingest.limits import SeriesBudget
from failcast.ingest.schemas import IngestResult, LogIn
from failcast.ingest.validate import KnownSeries, SampleBatch, SeriesKey, ValidSample
from failcast.live.events import stage
from failcast.models import LogEntry, Service
from failcast.store.samples import write_sample_columns
from failcast.store.series import create_series, series_by_key

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
        self._series: Lru[tuple[int, SeriesKey], int] = Lru(max_cached_series)
        self._services: dict[tuple[int, str], int] = {}
        self._max = max_cached_series
        # Label sets validation accepted, for the receivers that validate with this ingestor.
        self.known = KnownSeries(max_cached_series)
        self.on_new_services = on_new_services
        self.on_samples = on_samples
        # Per-org series limits; None (benchmarks, tools) admits every new series.
        self.budget = budget

    def forget(self) -> None:
        self._series.clear()
        self._services.clear()
        self.known.clear()

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
        keys: Sequence[SeriesKey],
        labels: Sequence[dict[str, str]],
        *,
        partial: bool,
        commit: bool,
    ) -> tuple[list[int], dict[SeriesKey, int], int, int]:
        """The ids of the batch's distinct series `keys` (with their `labels`), in order,
        creating the new ones the org's limits admit: all of them or an error, or (`partial`)
        as many as admitted, the others' ids being 0. Also the ids that were not cached (to
        remember once the batch is stored), and how many services and series were created.
        With `commit`, services and series are committed in short transactions before the
        caller writes samples."""
        ids = [i or 0 for i in self._series.get_many([(org_id, k) for k in keys])]
        missing = {k: row for row, (k, id_) in enumerate(zip(keys, ids, strict=True)) if not id_}
        fresh: dict[SeriesKey, int] = {}
        if not missing:
            return ids, fresh, 0, 0
        services = await self._select_services(session, org_id, {k[0] for k in missing})
        wanted = {(services[k[0]], k[1], k[2]): k for k in missing if k[0] in services}
        if wanted:
            found = await series_by_key(session, list(wanted))
            fresh |= {wanted[t]: series_id for t, series_id in found.items()}
        new = [k for k in missing if k not in fresh]
        created_count = services_created = 0
        if new and self.budget is not None:
            new = new[: await self.budget.admit(session, org_id, len(new), partial=partial)]
        if new:
            service_ids, services_created = await self._service_ids(
                session, org_id, {k[0] for k in new}
            )
            if commit:
                await release(session, "ingest writes in short batches")
            created: dict[tuple[int, str, str], int] = {}
            triples = [(service_ids[k[0]], k[1], k[2]) for k in new]
            for start in range(0, len(new), SERIES_CHUNK):
                chunk = [
                    (*triple, labels[missing[key]])
                    for triple, key in zip(
                        triples[start : start + SERIES_CHUNK],
                        new[start : start + SERIES_CHUNK],
                        strict=True,
                    )
                ]
                created |= await create_series(session, org_id, chunk)
                if commit:
                    await release(session, "ingest writes in short batches")
            if self.budget is not None:
                self.budget.spend(org_id, len(new))
            fresh |= {k: created[t] for t, k in zip(triples, new, strict=True) if t in created}
            created_count = len(new)
        for key, series_id in fresh.items():
            ids[missing[key]] = series_id
        return ids, fresh, services_created, created_count

    def _remember(
        self, org_id: int, series: dict[SeriesKey, int], services: dict[str, int]
    ) -> None:
        """Cache the ids of series and services that were not cached yet."""
        for key, series_id in series.items():
            self._series.put((org_id, key), series_id)
        if len(self._services) + len(services) > self._max:
            self._services.clear()
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
            found, fresh, services_created, series_created = await self._series_ids(
                session,
                org_id,
                batch.series,
                batch.labels,
                partial=partial,
                commit=commit_series_first,
            )
            ids = np.asarray(found, np.int64)
            index, ts, values = batch.arrays()
            series_ids = ids[index]
            if not ids.all():
                kept = series_ids != 0
                series_ids, ts, values = series_ids[kept], ts[kept], values[kept]
            await write_sample_columns(session, series_ids, ts, values)
            stage(session, org_id, {"type": "ingest", "samples": len(ts)})
            await release(session, "ingest writes in short batches")
        except BaseException:
            await session.rollback()
            raise
        self._remember(org_id, fresh, {})
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
            await release(session, "ingest writes in short batches")
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
