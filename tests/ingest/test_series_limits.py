"""One org inventing label sets cannot starve the others: series per org are capped, new
series are rate limited, and series are created in short transactions."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from factories import Account, bearer, create_api_key, register
from fastapi import FastAPI
from sqlalchemy import event

from failcast.config import Settings
from failcast.deps import services_of
from failcast.ingest.service import SERIES_CHUNK
from failcast.integrations.remote_write import encode_write_request
from failcast.proto import remote_pb2

CAP = 60
PER_MINUTE = 40


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"max_series_per_org": CAP, "max_new_series_per_minute": PER_MINUTE}
    )


class Minute:
    """The series budget's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # the start of a minute

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def minute(app: FastAPI) -> Minute:
    clock = Minute()
    services_of(app).ingestor.budget.clock = clock
    return clock


def batch(first: int, count: int, service: str = "api") -> dict[str, Any]:
    """`count` samples, each of its own series (`request` label first..first+count-1)."""
    ts = time.time() - 60
    return {
        "samples": [
            {
                "service": service,
                "metric": "latency_ms",
                "labels": {"request": str(i)},
                "ts": ts,
                "value": 1.0,
            }
            for i in range(first, first + count)
        ]
    }


async def _post(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/v1/metrics", json=body, headers=bearer(key))


async def test_new_series_are_rate_limited_and_capped_per_org(
    client: httpx.AsyncClient, api_key: str, minute: Minute
) -> None:
    assert (await _post(client, api_key, batch(0, PER_MINUTE))).status_code == 200
    over_rate = await _post(client, api_key, batch(PER_MINUTE, 1))
    assert over_rate.status_code == 429
    assert over_rate.json()["error"] == "TooManyRequests"
    assert 1 <= int(over_rate.headers["retry-after"]) <= 61
    # Series it already has keep taking samples.
    assert (await _post(client, api_key, batch(0, PER_MINUTE))).status_code == 200
    minute.now += 60
    # The next minute admits more, up to the cap; a batch that would pass it is refused whole.
    assert (await _post(client, api_key, batch(PER_MINUTE, CAP - PER_MINUTE))).status_code == 200
    minute.now += 60
    capped = await _post(client, api_key, batch(CAP, 1))
    assert capped.status_code == 403
    assert capped.json()["error"] == "SeriesLimitReached"
    assert str(CAP) in capped.json()["detail"]
    stats = (await client.get("/api/v1/stats", headers=bearer(api_key))).json()
    assert stats["series"] == CAP


async def test_a_flooding_org_does_not_stop_another_orgs_ingest(
    client: httpx.AsyncClient, api_key: str, minute: Minute
) -> None:
    other = await register(client, "other@example.com", "Other")
    other_key = await create_api_key(client, other)
    statuses = []
    for round_ in range(6):
        statuses.append((await _post(client, api_key, batch(round_ * 20, 20))).status_code)
        quiet = await _post(client, other_key, batch(round_, 1, service="checkout"))
        assert quiet.status_code == 200, quiet.text
    assert statuses == [200, 200, 429, 429, 429, 429]


async def test_remote_write_keeps_known_series_and_counts_the_dropped_new_ones(
    client: httpx.AsyncClient, account: Account, minute: Minute
) -> None:
    key = await create_api_key(client, account, ["ingest", "read"])
    now = int(time.time() * 1000) - 60_000

    def body(names: range) -> bytes:
        request = remote_pb2.WriteRequest()
        for i in names:
            series = request.timeseries.add()
            for name, value in (("__name__", "up"), ("instance", f"i{i}"), ("job", "node")):
                series.labels.add(name=name, value=value)
            series.samples.add(timestamp=now, value=1.0)
        return encode_write_request(request)

    headers = {"Content-Encoding": "snappy", "Authorization": f"Bearer {key}"}
    first = await client.post("/api/v1/prometheus/write", content=body(range(30)), headers=headers)
    assert first.status_code == 204
    assert first.headers["x-failcast-accepted"] == "30"
    assert "x-failcast-dropped-reasons" not in first.headers
    # 30 known series and 30 new ones; 10 new ones fit in this minute's rate.
    second = await client.post("/api/v1/prometheus/write", content=body(range(60)), headers=headers)
    assert second.status_code == 204
    assert second.headers["x-failcast-accepted"] == "40"
    assert second.headers["x-failcast-dropped"] == "20"
    assert second.headers["x-failcast-dropped-reasons"] == "series_limit=20"
    metrics = (await client.get("/metrics")).text
    assert (
        'failcast_integration_dropped_samples_total{reason="series_limit",'
        'source="prometheus_remote_write"} 20.0' in metrics
    )


async def test_series_are_created_in_short_transactions(
    app: FastAPI, client: httpx.AsyncClient, api_key: str, settings: Settings
) -> None:
    services_of(app).ingestor.budget.limits = type(services_of(app).ingestor.budget.limits)(
        10_000, 10_000
    )
    inserted: list[int] = [0]
    per_transaction: list[int] = []
    engine = services_of(app).db.engine.sync_engine

    def count(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SERIES ("):
            inserted[0] += cursor.rowcount if cursor.rowcount > 0 else len(params or [])

    def commit(conn: Any) -> None:
        per_transaction.append(inserted[0])
        inserted[0] = 0

    event.listen(engine, "after_cursor_execute", count)
    event.listen(engine, "commit", commit)
    try:
        wide = 3 * SERIES_CHUNK + 1
        response = await _post(client, api_key, batch(0, wide))
    finally:
        event.remove(engine, "after_cursor_execute", count)
        event.remove(engine, "commit", commit)
    assert response.status_code == 200, response.text
    assert response.json()["series_created"] == wide
    assert sum(per_transaction) == wide
    assert max(per_transaction) <= SERIES_CHUNK
