from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

import httpx
import pytest
from factories import bearer

from failcast.deps import services_of


async def test_health_ready_and_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/metrics" in spec["paths"]
    body = spec["paths"]["/api/v1/metrics"]["post"]["requestBody"]
    assert "samples" in json.dumps(body)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_api_docs_load_nothing_from_the_internet(
    client: httpx.AsyncClient, page: str
) -> None:
    html = (await client.get(page)).text
    assert "Failcast API" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 1000, asset
    assert "fonts.googleapis" not in html and "cdn.jsdelivr" not in html


async def test_ready_reports_an_unreachable_database(
    client: httpx.AsyncClient, app: object
) -> None:
    await services_of(app).db.engine.dispose()  # type: ignore[attr-defined]
    from failcast.config import Settings
    from failcast.db.engine import Database

    broken = Settings(env="test", database_url="postgresql://nobody@127.0.0.1:1/none")
    services_of(app).db = Database(broken)  # type: ignore[attr-defined]
    response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_own_metrics_count_requests_and_ingested_samples(
    client: httpx.AsyncClient, api_key: str
) -> None:
    now = datetime.now(UTC).timestamp()
    samples = [{"service": "a", "metric": "m", "ts": now - i, "value": 1.0} for i in range(7)]
    await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key))
    await client.post(
        "/api/v1/metrics", json={"samples": [{"value": "x"}]}, headers=bearer(api_key)
    )
    text = (await client.get("/metrics")).text
    assert "failcast_ingested_samples_total 7.0" in text
    assert 'failcast_ingest_rejected_batches_total{status="422"} 1.0' in text
    assert (
        'failcast_http_requests_total{method="POST",route="/api/v1/metrics",status="200"} 1.0'
        in text
    )
    assert "failcast_http_request_duration_seconds_bucket" in text


async def test_responses_carry_security_headers_and_request_ids(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"x-request-id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_request_log_is_structured_and_holds_no_credentials(
    client: httpx.AsyncClient, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    from failcast.ops.logging import JsonFormatter

    with caplog.at_level(logging.INFO, logger="failcast.http"):
        await client.get("/api/v1/services", headers=bearer(api_key))
    [record] = [r for r in caplog.records if r.name == "failcast.http"]
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/api/v1/services"
    assert line["status"] == 200
    assert api_key not in json.dumps(line)


async def test_unknown_route_uses_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "Not Found"}
