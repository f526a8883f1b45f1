"""Selecting series through the label index, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from factories import make_settings
from fastapi import FastAPI
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from failcast.config import Settings
from failcast.db.migrate import downgrade, upgrade
from failcast.deps import services_of
from failcast.ingest.service import Ingestor
from failcast.ingest.validate import ValidSample, labels_key
from failcast.models import Organization, Series, SeriesLabel, Service
from failcast.store.labels import BadMatcher, Matcher, parse_selector
from failcast.store.series import (
    label_names,
    label_values,
    metric_names,
    select_series,
    series_by_key,
    series_ids,
)

TS = 1_700_000_000_000
# (service, metric, labels); the tests name the series by position.
FLEET: list[tuple[str, str, dict[str, str]]] = [
    ("api", "http_requests", {"path": "/v1/users", "code": "200"}),  # 0
    ("api", "http_requests", {"path": "/v1/orders", "code": "500"}),  # 1
    ("api", "http_requests", {"path": "/v2/users", "code": "200", "canary": "true"}),  # 2
    ("web", "http_requests", {"code": "404"}),  # 3
    ("web", "http_requests", {}),  # 4
    ("web", "http_requests", {"path": "", "code": "200"}),  # 5: an empty value is no label
    ("api", "queue_depth", {"path": "/v1/users"}),  # 6
]


async def _org(app: FastAPI, name: str) -> int:
    async with services_of(app).db.session() as session:
        org = Organization(name=name, slug=name)
        session.add(org)
        await session.commit()
        return org.id


async def _fleet(app: FastAPI) -> tuple[int, list[int]]:
    """An org holding FLEET, and another org holding the same series; the first org's id and
    its series ids in FLEET's order."""
    ids: list[int] = []
    first = 0
    for name in ("ours", "theirs"):
        org_id = await _org(app, name)
        samples = [
            ValidSample(service, metric, labels, labels_key(labels), TS, 1.0)
            for service, metric, labels in FLEET
        ]
        async with services_of(app).db.session() as session:
            await Ingestor().ingest_samples(session, org_id, samples)
        if name == "ours":
            first = org_id
            async with services_of(app).db.session() as session:
                rows = await session.execute(
                    select(Series.id, Service.name, Series.metric, Series.labels_key)
                    .join(Service, Service.id == Series.service_id)
                    .where(Series.org_id == org_id)
                )
                by_key = {(s, m, k): i for i, s, m, k in rows}
            ids = [by_key[(s, m, labels_key(labels))] for s, m, labels in FLEET]
    return first, ids


SELECTIONS = [
    ('{path="/v1/users"}', {0, 6}),
    ('http_requests{path="/v1/users"}', {0}),
    ('{path=~"/v1/.*"}', {0, 1, 6}),
    ('{path=~"/v1"}', set()),  # anchored
    ('{path=~".*users"}', {0, 2, 6}),
    ('http_requests{path!="/v1/users"}', {1, 2, 3, 4, 5}),
    ('http_requests{path=""}', {3, 4, 5}),
    ('{path!=""}', {0, 1, 2, 6}),
    ('http_requests{path!~"/v1/.*"}', {2, 3, 4, 5}),
    ('http_requests{path=~"/v1/.*|"}', {0, 1, 3, 4, 5}),
    ('{canary="true"}', {2}),
    ('http_requests{canary!="true"}', {0, 1, 3, 4, 5}),
    ('{code=~"2.."}', {0, 2, 5}),
    ('{code=~"2..", path!~"/v2/.*"}', {0, 5}),
    ('{code=~"2..", path=~"/v2/.*", canary=""}', set()),
    ('{code="200", service="web"}', {5}),
    ('{service=~"a.*", code!=""}', {0, 1, 2}),
    ('{__name__=~"http_.*", path="/v1/users"}', {0}),
    ('{__name__!="http_requests", path!=""}', {6}),
    ('{__name__=~"queue_.*|http_requests", code="404"}', {3}),
    ('{code="418"}', set()),
    ('{nothing=~".+"}', set()),
]


@pytest.mark.parametrize(("selector", "expected"), SELECTIONS)
async def test_selectors_choose_what_prometheus_would(
    app: FastAPI, selector: str, expected: set[int]
) -> None:
    org_id, ids = await _fleet(app)
    async with services_of(app).db.session() as session:
        found = await series_ids(session, org_id, parse_selector(selector))
    assert found == {ids[n] for n in expected}


async def test_a_selector_every_series_would_satisfy_is_refused(app: FastAPI) -> None:
    org_id, _ = await _fleet(app)
    async with services_of(app).db.session() as session:
        with pytest.raises(BadMatcher):
            await series_ids(session, org_id, [Matcher("path", "=~", ".*")])


async def test_select_series_keeps_exact_labels_and_describes_the_series(app: FastAPI) -> None:
    org_id, ids = await _fleet(app)
    async with services_of(app).db.session() as session:
        found = await select_series(session, org_id, "http_requests", "api", {"code": "200"})
        absent = await select_series(session, org_id, "http_requests", None, {"path": ""})
    # By metric, service, then the canonical labels: `canary` sorts before `code`.
    assert [(s.id, s.service, s.metric, s.labels) for s in found] == [
        (ids[n], *FLEET[n]) for n in (2, 0)
    ]
    assert {s.id for s in absent} == {ids[3], ids[4], ids[5]}


async def test_names_and_values_come_from_the_index(app: FastAPI) -> None:
    org_id, _ = await _fleet(app)
    async with services_of(app).db.session() as session:
        assert await metric_names(session, org_id) == ["http_requests", "queue_depth"]
        assert await label_names(session, org_id) == ["canary", "code", "path"]
        assert await label_values(session, org_id, "path") == [
            "/v1/orders",
            "/v1/users",
            "/v2/users",
        ]
        assert await label_values(session, org_id, "code") == ["200", "404", "500"]
        assert await label_values(session, org_id, "service") == ["api", "web"]
        assert await label_values(session, org_id, "__name__") == ["http_requests", "queue_depth"]
        assert await label_values(session, org_id, "missing") == []


async def test_deleting_a_series_removes_its_index_entries(app: FastAPI) -> None:
    org_id, ids = await _fleet(app)
    async with services_of(app).db.session() as session:
        await session.execute(delete(Series).where(Series.id == ids[2]))
        await session.commit()
        left = await session.scalar(
            select(func.count()).select_from(SeriesLabel).where(SeriesLabel.series_id == ids[2])
        )
        assert left == 0
        assert await label_names(session, org_id) == ["code", "path"]
        assert await series_ids(session, org_id, parse_selector('{code="200"}')) == {ids[0], ids[5]}


async def _store_one_series(url: str, labels: dict[str, str]) -> int:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            org = Organization(name="o", slug="o")
            session.add(org)
            await session.flush()
            service = Service(org_id=org.id, name="s")
            session.add(service)
            await session.flush()
            series = Series(
                org_id=org.id,
                service_id=service.id,
                metric="m",
                labels=labels,
                labels_key=labels_key(labels),
            )
            session.add(series)
            await session.flush()
            series_id = series.id
            await session.commit()
            return series_id
    finally:
        await engine.dispose()


async def _index_rows(url: str) -> list[tuple[str, str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT name, value, series_id FROM series_label ORDER BY name")
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        await engine.dispose()


def test_the_migration_indexes_the_series_already_stored(
    settings: Settings, tmp_path: Path
) -> None:
    fresh = make_settings(data_dir=tmp_path / "fresh") if settings.is_sqlite else settings
    if not settings.is_sqlite:
        downgrade(fresh, "base")
    upgrade(fresh, "0016_training_jobs")
    labels = {"path": "/v1/users", "code": "200", "empty": ""}
    series_id = asyncio.run(_store_one_series(fresh.sqlalchemy_url, labels))
    upgrade(fresh)
    assert asyncio.run(_index_rows(fresh.sqlalchemy_url)) == [
        ("code", "200", series_id),
        ("path", "/v1/users", series_id),
    ]
    downgrade(fresh, "0016_training_jobs")
    upgrade(fresh)


async def _many(app: FastAPI, count: int) -> int:
    org_id = await _org(app, "many")
    samples = []
    for i in range(count):
        labels = {"instance": f"i{i}", "parity": str(i % 2)}
        samples.append(ValidSample("api", "up", labels, labels_key(labels), TS, 1.0))
    async with services_of(app).db.session() as session:
        await Ingestor().ingest_samples(session, org_id, samples)
    return org_id


async def test_a_regex_matching_many_values_selects_them_all(app: FastAPI) -> None:
    org_id = await _many(app, 1200)
    async with services_of(app).db.session() as session:
        every = await series_ids(session, org_id, parse_selector('{instance=~"i[0-9]+"}'))
        odd = await series_ids(session, org_id, parse_selector('{instance=~"i.*[13579]"}'))
        both = await series_ids(
            session, org_id, parse_selector('up{instance=~"i1.*", parity!="1"}')
        )
    assert len(every) == 1200
    assert len(odd) == 600
    # i10-i19, i100-i199 and i1000-i1199 hold 155 even numbers; i1 is odd.
    assert len(both) == 155


@pytest.mark.parametrize(
    "selector",
    [
        '{instance="i7"}',
        'up{instance="i7"}',
        '{instance="i7", parity!="1"}',
        '{parity="0", instance=~"i1.*"}',
        'up{instance=~"i1.", parity="1"}',
    ],
)
async def test_selection_reads_the_index_not_the_whole_metric(
    app: FastAPI, settings: Settings, selector: str
) -> None:
    if not settings.is_sqlite:
        pytest.skip("query plans are checked on SQLite, whose planner needs no statistics")
    org_id = await _many(app, 50)

    async def choose(session: AsyncSession) -> None:
        await series_ids(session, org_id, parse_selector(selector))

    await _assert_no_scans(app, choose)


async def test_series_are_found_by_key_through_the_index(app: FastAPI, settings: Settings) -> None:
    await _many(app, 50)
    async with services_of(app).db.session() as session:
        rows = (
            await session.execute(select(Series.service_id, Series.labels_key, Series.id))
        ).all()
    wanted = [(service_id, "up", key) for service_id, key, _ in rows[:7]]
    missing = [(rows[0][0], "up", "[]"), (rows[0][0], "down", rows[0][1])]
    async with services_of(app).db.session() as session:
        found = await series_by_key(session, wanted + missing)
    assert found == {triple: row[2] for triple, row in zip(wanted, rows, strict=False)}
    if not settings.is_sqlite:
        return

    async def lookup(session: AsyncSession) -> None:
        await series_by_key(session, wanted)

    await _assert_no_scans(app, lookup)


async def _assert_no_scans(app: FastAPI, run: Any) -> None:
    """Every query `run(session)` makes reads an index, none scans a catalogue table."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    engine = services_of(app).db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with services_of(app).db.session() as session:
            await run(session)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements
    async with services_of(app).db.session() as session:
        for statement, parameters in statements:
            connection = await session.connection()
            raw = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = [str(row[-1]) for row in raw]
            tables = ("SCAN series", "SCAN series_label", "SCAN service")
            scans = [step for step in plan if step.split(" AS ")[0] in tables]
            assert scans == [], (statement, plan)
