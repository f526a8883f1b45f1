"""Exports: what is ingested comes back identical from CSV, JSON, JSON lines and Excel; ranges
stream in chunks; filters and tenants hold; every export is audited."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from factories import Account, bearer, register
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import select

from failcast.deps import services_of
from failcast.exports import service
from failcast.models import Alert, AuditEvent

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
T0_S = int(T0.timestamp())
VALUES = [0.1, -3.5, 1e-9, 12345.678, 0.0, 42.0]


def metric_batch() -> list[dict[str, Any]]:
    samples = []
    for service_name, labels in (("api", {"region": "eu", "pod": 'a,"1"'}), ("db", {})):
        for metric in ("cpu_pct", "error_rate"):
            for i, value in enumerate(VALUES):
                samples.append({
                    "service": service_name, "metric": metric, "labels": labels,
                    "ts": T0_S + 60 * i, "value": value + (metric == "error_rate"),
                })  # fmt: skip
    return samples


def as_key(
    service_name: str, metric: str, labels: Any, ts: datetime, value: float
) -> tuple[Any, ...]:
    return (service_name, metric, json.dumps(labels, sort_keys=True), ts, value)


def ingested_keys(samples: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {
        as_key(s["service"], s["metric"], s["labels"], datetime.fromtimestamp(s["ts"], UTC),
               s["value"])
        for s in samples
    }  # fmt: skip


def parse(fmt: str, content: bytes) -> list[dict[str, Any]]:
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode())))
    if fmt == "json":
        rows: list[dict[str, Any]] = json.loads(content)
        return rows
    if fmt == "jsonl":
        return [json.loads(line) for line in content.decode().splitlines()]
    sheet = load_workbook(io.BytesIO(content), read_only=True)["export"]
    header, *values = list(sheet.iter_rows(values_only=True))
    names = [str(h).removesuffix(" (UTC)") for h in header]
    return [dict(zip(names, row, strict=True)) for row in values]


def when(fmt: str, value: Any) -> datetime:
    if fmt == "xlsx":
        assert isinstance(value, datetime) and value.tzinfo is None
        return value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value)


@pytest.fixture
async def loaded(client: httpx.AsyncClient, api_key: str) -> list[dict[str, Any]]:
    samples = metric_batch()
    answer = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key)
    )
    assert answer.status_code == 200, answer.text
    return samples


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "xlsx"])
async def test_metrics_round_trip_in_every_format(
    client: httpx.AsyncClient, account: Account, loaded: list[dict[str, Any]], fmt: str
) -> None:
    params = {"format": fmt, "start": str(T0_S), "end": str(T0_S + 3600)}
    answer = await client.get("/api/v1/export/metrics", params=params, headers=account.headers)
    assert answer.status_code == 200, answer.text
    assert f'.{fmt}"' in answer.headers["content-disposition"]
    rows = parse(fmt, answer.content)
    assert len(rows) == len(loaded) == 24
    back = set()
    for row in rows:
        labels = json.loads(row["labels"]) if isinstance(row["labels"], str) else row["labels"]
        back.add(as_key(row["service"], row["metric"], labels, when(fmt, row["ts"]),
                        float(row["value"])))  # fmt: skip
    assert back == ingested_keys(loaded)


async def test_filters_ranges_and_tenants(
    client: httpx.AsyncClient, account: Account, loaded: list[dict[str, Any]]
) -> None:
    h = account.headers

    async def rows(**params: str) -> list[dict[str, Any]]:
        answer = await client.get(
            "/api/v1/export/metrics", params={"format": "jsonl", **params}, headers=h
        )
        assert answer.status_code == 200, answer.text
        return parse("jsonl", answer.content)

    everything = await rows(start=str(T0_S), end=str(T0_S + 3600))
    only_db = await rows(start=str(T0_S), end=str(T0_S + 3600), service="db", metric="cpu_pct")
    assert {(r["service"], r["metric"]) for r in only_db} == {("db", "cpu_pct")}
    assert [r["value"] for r in only_db] == VALUES
    # [start, end): the sample at end is left out, the one at start is in.
    window = await rows(start=str(T0_S + 60), end=str(T0_S + 180))
    assert {when("json", r["ts"]) for r in window} == {
        T0 + timedelta(seconds=60),
        T0 + timedelta(seconds=120),
    }
    assert len(window) == 8 and len(everything) == 24

    stranger = await register(client, "stranger@example.com", "Elsewhere")
    theirs = await client.get(
        "/api/v1/export/metrics",
        params={"format": "json", "start": str(T0_S), "end": str(T0_S + 3600)},
        headers=stranger.headers,
    )
    assert theirs.status_code == 200 and json.loads(theirs.content) == []
    bad = await client.get("/api/v1/export/metrics?format=pdf", headers=h)
    assert bad.status_code == 422
    assert (await client.get("/api/v1/export/invoices", headers=h)).status_code == 422


async def test_chunked_reads_cover_the_range_exactly_once(
    app: FastAPI, account: Account, loaded: list[dict[str, Any]]
) -> None:
    query = service.Query(account.org_id, service.Kind.metrics, T0_S * 1000, (T0_S + 3600) * 1000)
    sizes = []
    seen = []
    async for chunk in service.chunks(services_of(app).db, query, chunk=5):
        sizes.append(len(chunk))
        seen.extend((r["service"], r["metric"], r["ts"]) for r in chunk)
    assert sizes == [5, 5, 5, 5, 4]
    assert len(seen) == len(set(seen)) == 24


async def test_alerts_incidents_and_predictions_export_and_are_audited(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> None:
    h = account.headers
    incidents = {"incidents": [
        {"service": "api", "type": "latency_spike", "start": T0_S, "end": T0_S + 900,
         "title": "slow checkout", "root_cause_service": "db"},
        {"service": "db", "type": "resource_exhaustion", "start": T0_S + 1800},
    ]}  # fmt: skip
    created = await client.post("/api/v1/incidents", json=incidents, headers=h)
    assert created.status_code in (200, 201), created.text
    async with services_of(app).db.session() as session:
        session.add(Alert(
            org_id=account.org_id, fingerprint="f1", state="resolved", severity="critical",
            service="api", title="p99 > 500 ms", labels={"team": "core"}, context={},
            value=612.5, started_at=T0, fired_at=T0 + timedelta(minutes=2),
            resolved_at=T0 + timedelta(minutes=20),
        ))  # fmt: skip
        await session.commit()
    params = {"start": str(T0_S - 60), "end": str(T0_S + 3600)}

    answer = await client.get(
        "/api/v1/export/incidents", params=params | {"format": "csv"}, headers=h
    )
    assert answer.status_code == 200, answer.text
    rows = parse("csv", answer.content)
    assert [(r["service"], r["type"], r["title"], r["root_cause_service"]) for r in rows] == [
        ("api", "latency_spike", "slow checkout", "db"), ("db", "resource_exhaustion", "", ""),
    ]  # fmt: skip
    assert datetime.fromisoformat(rows[0]["ended_at"]) == T0 + timedelta(minutes=15)
    assert rows[1]["ended_at"] == ""

    answer = await client.get(
        "/api/v1/export/alerts", params=params | {"format": "xlsx"}, headers=h
    )
    [alert] = parse("xlsx", answer.content)
    assert (alert["service"], alert["severity"], alert["value"]) == ("api", "critical", 612.5)
    assert alert["fired_at"] == (T0 + timedelta(minutes=2)).replace(tzinfo=None)
    assert alert["acknowledged_at"] is None
    assert json.loads(alert["labels"]) == {"team": "core"}

    answer = await client.get(
        "/api/v1/export/predictions", params=params | {"format": "json"}, headers=h
    )
    assert answer.status_code == 200 and json.loads(answer.content) == []

    async with services_of(app).db.session() as session:
        events = list(await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.created").order_by(AuditEvent.id)
        ))  # fmt: skip
    assert [(e.target, e.details["format"]) for e in events] == [
        ("export:incidents", "csv"), ("export:alerts", "xlsx"), ("export:predictions", "json"),
    ]  # fmt: skip
    assert events[0].actor == "owner@example.com"


async def test_predictions_round_trip(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    from _predict_synthetic import tiny_model

    from failcast.models import FailurePrediction, Service
    from failcast.predict import registry

    await client.post(
        "/api/v1/metrics",
        json={"samples": [{"service": "api", "metric": "m", "ts": T0_S, "value": 1.0}]},
        headers=bearer(api_key),
    )
    async with services_of(app).db.session() as session:
        version = await registry.register(
            session, account.org_id, tiny_model(), source="imported", now=T0
        )
        service_id = await session.scalar(select(Service.id).where(Service.name == "api"))
        assert service_id is not None
        for i, p in enumerate((0.125, 0.875)):
            session.add(FailurePrediction(
                org_id=account.org_id, service_id=service_id, model_version_id=version.id,
                ts=T0 + timedelta(minutes=15 * i), horizon_h=24, probability=p, alarm=p > 0.5,
                incident_type="latency_spike", confidence=0.5, risk_level="low",
                factors=[], outcome=None if i else False,
            ))  # fmt: skip
        await session.commit()
    answer = await client.get(
        "/api/v1/export/predictions",
        params={"format": "csv", "start": str(T0_S), "end": str(T0_S + 3600)},
        headers=account.headers,
    )
    rows = parse("csv", answer.content)
    assert [(r["probability"], r["alarm"], r["outcome"], r["model_version"]) for r in rows] == [
        ("0.125", "false", "false", "1"), ("0.875", "true", "", "1"),
    ]  # fmt: skip


FORMULAS = ['=HYPERLINK("http://evil.example","open")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


async def test_text_that_looks_like_a_formula_is_never_run_by_a_spreadsheet(
    client: httpx.AsyncClient, account: Account
) -> None:
    incidents = [
        {"service": "api", "type": "latency_spike", "start": T0_S + i, "title": title}
        for i, title in enumerate(FORMULAS)
    ]
    created = await client.post(
        "/api/v1/incidents", json={"incidents": incidents}, headers=account.headers
    )
    assert created.status_code in (200, 201), created.text
    params = {"start": str(T0_S - 60), "end": str(T0_S + 3600)}
    answer = await client.get(
        "/api/v1/export/incidents", params=params | {"format": "csv"}, headers=account.headers
    )
    titles = [row["title"] for row in parse("csv", answer.content)]
    assert titles == ["'" + title for title in FORMULAS]
    answer = await client.get(
        "/api/v1/export/incidents", params=params | {"format": "xlsx"}, headers=account.headers
    )
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula anywhere
    cells = load_workbook(io.BytesIO(answer.content))["export"]
    title_column = [c.value for c in cells[1]].index("title") + 1
    stored = [cells.cell(row=r, column=title_column) for r in range(2, 2 + len(FORMULAS))]
    assert [c.value for c in stored] == FORMULAS
    assert {c.data_type for c in stored} == {"s"}
    # JSON is data, not a spreadsheet: it keeps the text as it was.
    answer = await client.get(
        "/api/v1/export/incidents", params=params | {"format": "json"}, headers=account.headers
    )
    assert [row["title"] for row in json.loads(answer.content)] == FORMULAS
