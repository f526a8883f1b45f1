"""The store's entry points over VictoriaMetrics give the embedded store's answers."""

from __future__ import annotations

import random
import time

import httpx
import pytest
from metrics_engines import VictoriaMetrics, prometheus_backend, remote_settings, victoria_metrics
from sqlalchemy import select

from failcast.config import Settings, parse_metrics_backend
from failcast.db.engine import Database
from failcast.errors import Unavailable, ValidationFailed
from failcast.models import Organization, Series, Service
from failcast.store.engine_queries import bucket
from failcast.store.ranges import Aggregation
from failcast.store.remote import RemoteSamples, open_database
from failcast.store.samples import Point, read_range, write_sample_columns

__all__ = ["prometheus_backend", "remote_settings", "victoria_metrics"]

T0 = 1_764_000_000_123  # not on a whole second, minute or hour


async def catalogue(database: Database, org: str, series: int) -> list[int]:
    """An org with one service and `series` series of one metric; their ids."""
    async with database.session() as session:
        row = Organization(name=org, slug=org)
        session.add(row)
        await session.flush()
        service = Service(org_id=row.id, name="checkout")
        session.add(service)
        await session.flush()
        rows = [
            Series(
                org_id=row.id,
                service_id=service.id,
                metric="latency_ms",
                labels={"pod": f"p{i}"},
                labels_key=f"pod=p{i}",
            )
            for i in range(series)
        ]
        session.add_all(rows)
        await session.commit()
        return [r.id for r in rows]


async def write(database: Database, ids: list[int], ts: list[int], values: list[float]) -> int:
    async with database.session() as session:
        written = await write_sample_columns(session, ids, ts, values)
        await session.commit()
        return written


async def read(
    database: Database,
    ids: list[int],
    start: int,
    end: int,
    step: int | None,
    agg: Aggregation,
    limit: int = 100_000,
    per_series: int | None = None,
) -> dict[int, list[Point]]:
    async with database.session() as session:
        return await read_range(
            session, ids, start, end, step_ms=step, agg=agg, limit=limit, per_series=per_series
        )


def test_buckets_are_stamped_with_their_start() -> None:
    points = [(100, 1.0), (105, 3.0), (110, 5.0), (131, 7.0)]
    assert bucket(points, 100, 10, "avg") == [(100, 2.0), (110, 5.0), (130, 7.0)]
    assert bucket(points, 95, 10, "last") == [(95, 1.0), (105, 5.0), (125, 7.0)]
    assert bucket(points, 100, 10, "count") == [(100, 2.0), (110, 1.0), (130, 1.0)]


async def test_embedded_and_victoriametrics_answer_alike(
    settings: Settings, remote_settings: Settings, victoria_metrics: VictoriaMetrics
) -> None:
    embedded, remote = Database(settings), open_database(remote_settings)
    try:
        ids = await catalogue(embedded, "acme", 3)
        rng = random.Random(7)
        # Irregular times over three hours, a repeated (series, ts) whose last value wins.
        ts = [T0 + rng.randrange(0, 3 * 3_600_000) for _ in range(3000)]
        series = [rng.choice(ids) for _ in ts]
        values = [round(rng.gauss(50, 20), 3) for _ in ts]
        series.append(series[0])
        ts.append(ts[0])
        values.append(-1.0)
        assert await write(remote, series, ts, values) == await write(embedded, series, ts, values)
        victoria_metrics.flush()

        paths: list[str] = []

        async def record(request: httpx.Request) -> None:
            paths.append(request.url.path)

        assert remote.metrics is not None
        remote.metrics.client.event_hooks["request"].append(record)
        hour = T0 - T0 % 3_600_000
        ranges = [
            (T0, T0 + 3 * 3_600_000),
            (T0 + 1234, T0 + 7_000_001),
            (hour, hour + 4 * 3_600_000),
        ]
        # Long after the samples, VictoriaMetrics aggregates every whole bucket; with the
        # samples still settling, it aggregates the first hour and the rest is read raw.
        for now in (T0 + 86_400_000, T0 + 3_600_000 + 300_000):
            remote.metrics.clock = lambda now=now: now
            for start, end in ranges:
                for step in (None, 1000, 7000, 60_000, 3_600_000):
                    for agg in Aggregation:
                        want = await read(embedded, ids, start, end, step, agg)
                        got = await read(remote, ids, start, end, step, agg)
                        assert got.keys() == want.keys()
                        for sid in ids:
                            where = (now, start, step, agg)
                            assert [p.ts for p in got[sid]] == [p.ts for p in want[sid]], where
                            assert [p.value for p in got[sid]] == pytest.approx(
                                [p.value for p in want[sid]]
                            ), where
        assert {"/api/v1/query_range", "/api/v1/export"} <= set(paths)
        # The limit counts points over all series, in id order.
        limited = await read(remote, ids, T0, T0 + 3_600_000, 60_000, Aggregation.max, limit=70)
        assert [len(limited[i]) for i in ids] == [60, 10, 0]
        # And each series keeps at most its first `per_series`.
        for database in (embedded, remote):
            each = await read(database, ids, T0, T0 + 3_600_000, None, Aggregation.avg, 70, 30)
            assert [len(each[i]) for i in ids] == [30, 30, 10]
            whole = await read(database, ids, T0, T0 + 3_600_000, None, Aggregation.avg)
            assert all(each[i] == whole[i][: len(each[i])] for i in ids)
    finally:
        await embedded.dispose()
        await remote.dispose()


async def test_embedded_and_prometheus_answer_alike(
    settings: Settings, prometheus_backend: str
) -> None:
    embedded = Database(settings)
    remote = open_database(settings.model_copy(update={"metrics_backend": prometheus_backend}))
    try:
        ids = await catalogue(embedded, "acme", 2)
        rng = random.Random(11)
        # Prometheus takes samples within an hour of the newest it holds.
        now = int(time.time() * 1000)
        ts = [now - rng.randrange(60_000, 3_000_000) for _ in range(1000)]
        series = [rng.choice(ids) for _ in ts]
        values = [round(rng.gauss(50, 20), 3) for _ in ts]
        assert await write(remote, series, ts, values) == await write(embedded, series, ts, values)
        start, end = now - 3_000_123, now - 600_000
        for step in (None, 7000, 60_000):
            for agg in Aggregation:
                want = await read(embedded, ids, start, end, step, agg)
                got = await read(remote, ids, start, end, step, agg)
                for sid in ids:
                    assert [p.ts for p in got[sid]] == [p.ts for p in want[sid]], (step, agg)
                    assert [p.value for p in got[sid]] == pytest.approx(
                        [p.value for p in want[sid]]
                    ), (step, agg)
        assert remote.metrics is not None
        summary = await remote.metrics.queries.summary(1, None, now)
        assert summary.samples == len(set(zip(series, ts, strict=True)))
    finally:
        await embedded.dispose()
        await remote.dispose()


async def test_samples_carry_the_catalogue_labels_and_the_tenant(
    remote_settings: Settings, victoria_metrics: VictoriaMetrics
) -> None:
    remote = open_database(remote_settings)
    try:
        [acme] = await catalogue(remote, "acme", 1)
        [globex] = await catalogue(remote, "globex", 1)
        await write(remote, [acme, globex], [T0, T0], [1.0, 2.0])
        [stored] = victoria_metrics.export('{failcast_org="1"}')
        assert stored["metric"] == {
            "__name__": "latency_ms",
            "pod": "p0",
            "service": "checkout",
            "failcast_org": "1",
            "failcast_series": str(acme),
        }
        assert stored["values"] == [1.0]
        both = await read(remote, [acme, globex], T0, T0 + 1, None, Aggregation.last)
        assert both == {acme: [Point(T0, 1.0)], globex: [Point(T0, 2.0)]}
        # A client's labels cannot move a series to another tenant, service or id.
        async with remote.session() as session:
            service = await session.scalar(select(Series.service_id).where(Series.id == globex))
            forged = Series(
                org_id=2,
                service_id=service,
                metric="latency_ms",
                labels={"failcast_org": "1", "failcast_series": str(acme), "service": "x"},
                labels_key="forged",
            )
            session.add(forged)
            await session.commit()
        await write(remote, [forged.id], [T0 + 5], [3.0])
        [stored] = victoria_metrics.export(f'{{failcast_series="{forged.id}"}}')
        assert stored["metric"]["failcast_org"] == "2"
        assert stored["metric"]["service"] == "checkout"
        mine = await read(remote, [acme], T0, T0 + 10, None, Aggregation.last)
        assert mine == {acme: [Point(T0, 1.0)]}
    finally:
        await remote.dispose()


async def test_an_unreachable_engine_is_unavailable_not_an_error(
    settings: Settings, victoria_metrics: VictoriaMetrics
) -> None:
    remote = open_database(
        settings.model_copy(update={"metrics_backend": victoria_metrics.backend})
    )
    try:
        [series] = await catalogue(remote, "acme", 1)
        victoria_metrics.stop()
        with pytest.raises(Unavailable) as raised:
            await write(remote, [series], [T0], [1.0])
        assert raised.value.status_code == 503
        assert raised.value.headers == {"Retry-After": "5"}
        with pytest.raises(Unavailable):
            await read(remote, [series], T0, T0 + 1, None, Aggregation.last)
    finally:
        await remote.dispose()


async def test_a_refused_batch_is_a_validation_error(settings: Settings) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="out of order sample")

    engine = parse_metrics_backend("prometheus://127.0.0.1:9090")
    assert engine is not None
    remote = RemoteSamples(engine, transport=httpx.MockTransport(refuse))
    database = Database(settings)
    try:
        [series] = await catalogue(database, "acme", 1)
        async with database.session() as session:
            with pytest.raises(ValidationFailed, match="out of order sample"):
                await remote.write_sample_columns(session, [series], [T0], [1.0])
    finally:
        await remote.aclose()
        await database.dispose()
