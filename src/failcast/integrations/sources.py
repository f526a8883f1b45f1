"""Series of a read-only metrics source (FAILCAST_METRICS_SOURCE), found with its series API
and recorded in the catalogue, so that Failcast reads their samples where they are.

Each org's selectors (FAILCAST_METRICS_SOURCE_MATCH) pick the series; one that is new to the
catalogue becomes a series of the service named by its `service` (or else `job`) label, with
every label but `__name__` kept, so that it is read back by exactly its own label set. Series
beyond the org's series limit, and ones whose names Failcast does not accept, are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.config import Settings
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.db.upsert import insert_ignoring_conflicts
from failcast.ingest.validate import labels_key
from failcast.integrations.mapping import DEFAULT_SERVICE, metric_name, service_name
from failcast.models import Organization, Series, Service
from failcast.store.remote import SOURCE_KEY_PREFIX, RemoteSamples
from failcast.timeutil import now_ms

if TYPE_CHECKING:
    from failcast.services import Services

log = logging.getLogger("failcast.integrations.sources")

DISCOVERY_TASK = "metrics.discover"
# Series with samples in this window before a discovery run are found by it.
DISCOVERY_WINDOW_MS = 86_400_000
# The catalogue's limit on `labels_key`.
MAX_KEY_LENGTH = 4000

CatalogueEntry = tuple[str, str, dict[str, str]]  # (service, metric, labels)


def catalogue_entry(labels: dict[str, str]) -> CatalogueEntry | None:
    """Where a source's series goes in the catalogue, or None if Failcast cannot name it."""
    metric = labels.get("__name__", "")
    if not metric or metric_name(metric) != metric:
        return None
    own = {name: value for name, value in labels.items() if name != "__name__"}
    service = service_name(own.get("service") or own.get("job") or DEFAULT_SERVICE)
    if service is None or len(SOURCE_KEY_PREFIX + labels_key(own)) > MAX_KEY_LENGTH:
        return None
    return service, metric, own


async def discover(database: Database, settings: Settings, now: int | None = None) -> int:
    """Record the series each org's selectors match in the source; return how many were new."""
    source = database.metrics
    if not isinstance(source, RemoteSamples) or not source.read_only:
        return 0
    at = now_ms() if now is None else now
    created = 0
    for slug, selectors in sorted(settings.metrics_source_match.items()):
        if not selectors:
            continue
        found = await source.queries.series(selectors, at - DISCOVERY_WINDOW_MS, at)
        async with session_scope(database) as session:
            org_id = await session.scalar(select(Organization.id).where(Organization.slug == slug))
            if org_id is None:
                log.warning("metrics source selectors name an unknown org: %s", slug)
                continue
            entries = [e for e in map(catalogue_entry, found) if e is not None]
            created += await _record(session, org_id, entries, settings.max_series_per_org)
    return created


async def _record(
    session: AsyncSession, org_id: int, entries: Iterable[CatalogueEntry], max_series: int
) -> int:
    wanted = {
        (service, metric, SOURCE_KEY_PREFIX + labels_key(labels)): labels
        for service, metric, labels in entries
    }
    if not wanted:
        return 0
    names = sorted({service for service, _, _ in wanted})
    await insert_ignoring_conflicts(
        session,
        Service.__table__,  # type: ignore[arg-type]
        [{"org_id": org_id, "name": name, "kind": "microservice"} for name in names],
        ["org_id", "name"],
    )
    services = dict(
        (
            await session.execute(
                select(Service.name, Service.id).where(
                    Service.org_id == org_id, Service.name.in_(names)
                )
            )
        ).all()
    )
    known = set(
        (
            await session.execute(
                select(Service.name, Series.metric, Series.labels_key)
                .join(Service, Service.id == Series.service_id)
                .where(Series.org_id == org_id, Series.labels_key.startswith(SOURCE_KEY_PREFIX))
            )
        ).all()
    )
    count = await session.scalar(select(func.count()).where(Series.org_id == org_id)) or 0
    new = [key for key in sorted(wanted) if key not in known][: max(0, max_series - count)]
    rows: list[dict[str, Any]] = [
        {
            "org_id": org_id,
            "service_id": services[service],
            "metric": metric,
            "labels": wanted[(service, metric, key)],
            "labels_key": key,
        }
        for service, metric, key in new
    ]
    await insert_ignoring_conflicts(
        session,
        Series.__table__,  # type: ignore[arg-type]
        rows,
        ["service_id", "metric", "labels_key"],
    )
    return len(rows)


def install_discovery(services: Services) -> None:
    """Discover the source's series on a timer, when a read-only source is configured."""
    settings = services.settings
    if settings.metrics_source_engine is None:
        return

    async def run(**_: Any) -> None:
        created = await discover(services.db, settings)
        if created:
            log.info("series discovered in the metrics source", extra={"series": created})

    services.runner.register(DISCOVERY_TASK, run)
    services.runner.every(settings.metrics_discovery_seconds, DISCOVERY_TASK)
