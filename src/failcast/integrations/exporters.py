"""Failcast's results in the Prometheus text format, from a registry of exporters.

An exporter is an async callable `(session, org_id) -> iterable of ExportedSample`; domains
add theirs with `register_exporter` (health scores, failure probabilities, burn rates, ...).
Every exported name gets the `failcast_` prefix and is exposed as a gauge.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import NamedTuple, cast

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.health import METRICS, MetricName, score_service
from failcast.ingest.cache import Lru
from failcast.models import Sample, SampleChunk, Series, Service
from failcast.store.remote import samples_engine
from failcast.timeutil import now_ms

PREFIX = "failcast_"


class ExportedSample(NamedTuple):
    name: str
    help: str
    labels: dict[str, str]
    value: float


Exporter = Callable[[AsyncSession, int], Awaitable[Iterable[ExportedSample]]]


# How long the metadata endpoints (label names and values, series) may reuse a collection.
RECENT_SECONDS = 15.0


class ExporterRegistry:
    """The exporters one app serves; a new registry per app keeps tests apart."""

    def __init__(
        self,
        exporters: Iterable[Exporter] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
        max_orgs: int = 1000,
    ) -> None:
        self._exporters: list[Exporter] = list(exporters)
        self.clock = clock
        # org -> (when collected, samples): the last collection, for `collect_recent`.
        self._recent: Lru[int, tuple[float, list[ExportedSample]]] = Lru(max_orgs)

    def register(self, exporter: Exporter) -> Exporter:
        """Add an exporter; returns it, so this works as a decorator."""
        if exporter not in self._exporters:
            self._exporters.append(exporter)
        return exporter

    def copy(self) -> ExporterRegistry:
        return ExporterRegistry(self._exporters, clock=self.clock)

    async def collect(self, session: AsyncSession, org_id: int) -> list[ExportedSample]:
        samples: list[ExportedSample] = []
        for exporter in self._exporters:
            samples.extend(await exporter(session, org_id))
        self._recent.put(org_id, (self.clock(), samples))
        return samples

    async def collect_recent(self, session: AsyncSession, org_id: int) -> list[ExportedSample]:
        """The org's samples as collected at most RECENT_SECONDS ago. Some exporters read
        every stored sample; label lists, asked on every keystroke of a query editor, need not
        wait for them."""
        recent = self._recent.get(org_id)
        if recent is not None and self.clock() - recent[0] < RECENT_SECONDS:
            return recent[1]
        return await self.collect(session, org_id)


class _Snapshot(Collector):
    def __init__(self, samples: list[ExportedSample]) -> None:
        self.samples = samples

    def collect(self) -> Iterable[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        label_names: dict[str, list[str]] = {}
        for sample in self.samples:
            name = sample.name if sample.name.startswith(PREFIX) else PREFIX + sample.name
            family = families.get(name)
            if family is None:
                label_names[name] = sorted(sample.labels)
                family = families[name] = GaugeMetricFamily(
                    name, sample.help, labels=label_names[name]
                )
            family.add_metric([sample.labels.get(n, "") for n in label_names[name]], sample.value)
        return list(families.values())


def render(samples: list[ExportedSample]) -> bytes:
    """The text exposition format (version 0.0.4) of the samples."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(samples))
    return generate_latest(registry)


async def service_samples(session: AsyncSession, org_id: int) -> list[ExportedSample]:
    """Stored samples and the age of the newest one, per service."""
    if (remote := samples_engine(session)) is not None:
        found = await remote.queries.per_service(org_id, now_ms())
        rows: Iterable[tuple[str, int, int | None]] = [
            (name, count, newest) for name, (count, newest) in sorted(found.items())
        ]
    else:
        rows = await _service_samples(session, org_id)
    now = now_ms()
    out: list[ExportedSample] = []
    for name, count, newest in rows:
        labels = {"service": name}
        out.append(ExportedSample("service_samples", "Samples stored.", labels, float(count)))
        if newest is None:
            continue
        out.append(
            ExportedSample(
                "service_last_sample_age_seconds",
                "Seconds since the newest sample's timestamp.",
                labels,
                max(0.0, (now - newest) / 1000),
            )
        )
    return out


async def _service_samples(session: AsyncSession, org_id: int) -> list[tuple[str, int, int | None]]:
    """Per service: samples in the head and in compressed chunks, and the newest time (a
    sample rewritten after its window was compacted counts twice until the next compaction)."""
    found: dict[str, tuple[int, int | None]] = {}
    for count, newest, table in (
        (func.count(Sample.ts), func.max(Sample.ts), Sample),
        (func.sum(SampleChunk.count), func.max(SampleChunk.last_ts), SampleChunk),
    ):
        rows = await session.execute(
            select(Service.name, count, newest)
            .join(Series, Series.service_id == Service.id)
            .join(table, table.series_id == Series.id)
            .where(Service.org_id == org_id)
            .group_by(Service.name)
        )
        for name, n, last in rows:
            before, seen = found.get(str(name), (0, None))
            latest = last if seen is None else max(seen, last)
            found[str(name)] = (before + int(n), latest)
    return [(name, n, last) for name, (n, last) in sorted(found.items())]


async def latest_health_metrics(
    session: AsyncSession, org_id: int
) -> dict[tuple[str, str, int | None], dict[MetricName, float]]:
    """Newest value of each health metric, per (service, kind, tier). Among a metric's series
    (label sets) the most recent sample wins; values outside the metric's range are ignored."""
    names = list(METRICS)
    if (remote := samples_engine(session)) is not None:
        catalogue = (
            await session.execute(
                select(Series.id, Service.name, Service.kind, Service.tier, Series.metric)
                .join(Service, Service.id == Series.service_id)
                .where(Series.org_id == org_id, Series.metric.in_(names))
            )
        ).all()
        latest = await remote.latest(session, [row.id for row in catalogue], now_ms())
        rows: Iterable[tuple[str, str, int | None, str, int, float]] = sorted(
            (
                (row.name, row.kind, row.tier, row.metric, *latest[row.id])
                for row in catalogue
                if row.id in latest
            ),
            key=lambda row: row[4],
        )
    else:
        rows = await _newest_health_samples(session, org_id, names)
    found: dict[tuple[str, str, int | None], dict[MetricName, float]] = {}
    for service, kind, tier, metric, _ts, value in rows:
        name = cast(MetricName, metric)
        info = METRICS[name]
        if info.low <= value <= info.high:
            found.setdefault((service, kind, tier), {})[name] = value
    return found


async def _newest_health_samples(
    session: AsyncSession, org_id: int, names: Sequence[str]
) -> list[tuple[str, str, int | None, str, int, float]]:
    newest = (
        select(Sample.series_id, func.max(Sample.ts).label("ts"))
        .join(Series, Series.id == Sample.series_id)
        .where(Series.org_id == org_id, Series.metric.in_(names))
        .group_by(Sample.series_id)
        .subquery()
    )
    rows = await session.execute(
        select(Service.name, Service.kind, Service.tier, Series.metric, Sample.ts, Sample.value)
        .join(Series, Series.service_id == Service.id)
        .join(newest, newest.c.series_id == Series.id)
        .join(Sample, (Sample.series_id == newest.c.series_id) & (Sample.ts == newest.c.ts))
        .order_by(Sample.ts)
    )
    return [
        (str(service), str(kind), tier, str(metric), int(ts), float(value))
        for service, kind, tier, metric, ts, value in rows
    ]


async def health_scores(session: AsyncSession, org_id: int) -> list[ExportedSample]:
    """Health score per service from its newest health metrics (see failcast.health)."""
    out: list[ExportedSample] = []
    for (service, kind, tier), values in sorted(
        (await latest_health_metrics(session, org_id)).items()
    ):
        health = score_service(service, kind, values, tier=tier if tier in (1, 2, 3) else 2)  # type: ignore[arg-type]
        if health.score is None:
            continue
        out.append(
            ExportedSample(
                "health_score",
                "Health score from 0 (failing) to 100, from the newest health metrics.",
                {"service": service, "kind": kind},
                round(health.score, 3),
            )
        )
    return out


DEFAULT_EXPORTERS = ExporterRegistry([service_samples, health_scores])
register_exporter = DEFAULT_EXPORTERS.register
