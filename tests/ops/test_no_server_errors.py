"""Inputs that once answered 500: each is now a 4xx with the usual error body, and an
unexpected failure answers JSON with the request's id instead of a plain-text page."""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from factories import Account, bearer, create_api_key
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from failcast.deps import MAX_ROW_ID


@pytest.fixture
async def raw_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sees a 500 as the response a real client gets, not as an exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def _is_error_body(response: httpx.Response) -> bool:
    body = response.json()
    return isinstance(body, dict) and isinstance(body.get("error"), str) and "detail" in body


async def test_patch_with_null_for_a_required_field_is_a_422(
    raw_client: httpx.AsyncClient, account: Account
) -> None:
    created = await raw_client.post(
        "/api/v1/services", json={"name": "checkout"}, headers=account.headers
    )
    assert created.status_code == 201, created.text
    service_id = created.json()["id"]
    for field in ("kind", "description"):
        response = await raw_client.patch(
            f"/api/v1/services/{service_id}", json={field: None}, headers=account.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["field"] == f"body.{field}"
    cleared = await raw_client.patch(
        f"/api/v1/services/{service_id}", json={"team": None}, headers=account.headers
    )
    assert cleared.status_code == 200
    assert cleared.json()["kind"] == "microservice"


@pytest.mark.parametrize("path_id", [MAX_ROW_ID + 1, 2**63, 2**64 + 5, 0, -1])
async def test_path_ids_beyond_the_store_range_are_a_422(
    raw_client: httpx.AsyncClient, account: Account, path_id: int
) -> None:
    for path in (
        f"/api/v1/services/{path_id}",
        f"/api/v1/alerts/{path_id}",
        f"/api/v1/channels/{path_id}",
    ):
        response = await raw_client.get(path, headers=account.headers)
        assert response.status_code == 422, (path, response.text)
        assert _is_error_body(response)


async def test_an_id_in_range_that_does_not_exist_is_a_404(
    raw_client: httpx.AsyncClient, account: Account
) -> None:
    response = await raw_client.get(f"/api/v1/services/{MAX_ROW_ID}", headers=account.headers)
    assert response.status_code == 404


@pytest.mark.parametrize("at", ["1e300", "inf", "-inf", "nan", "1e20", "-1e300"])
async def test_instants_beyond_any_calendar_are_a_422(
    raw_client: httpx.AsyncClient, account: Account, at: str
) -> None:
    for path in ("/api/v1/health", "/api/v1/risk", "/api/v1/topology/cascade"):
        response = await raw_client.get(path, params={"at": at}, headers=account.headers)
        assert response.status_code == 422, (path, at, response.text)
        assert _is_error_body(response)
    metrics = await raw_client.get(
        "/api/v1/metrics",
        params={"service": "a", "metric": "m", "start": at},
        headers=account.headers,
    )
    assert metrics.status_code == 422, metrics.text


@pytest.mark.parametrize("ts", [1e300, -1e300, 1e17, time.time() - 400 * 86400])
async def test_ml_events_outside_the_ingest_window_are_a_422(
    raw_client: httpx.AsyncClient, account: Account, ts: float
) -> None:
    key = await create_api_key(raw_client, account, ["ingest", "read"])
    prediction = await raw_client.post(
        "/api/v1/ml/predictions",
        json={"model": "churn", "predictions": [{"id": "p1", "prediction": 0.7, "ts": ts}]},
        headers=bearer(key),
    )
    assert prediction.status_code == 422, prediction.text
    assert prediction.json()["detail"][0]["field"] == "predictions.0.ts"
    label = await raw_client.post(
        "/api/v1/ml/labels",
        json={"model": "churn", "labels": [{"id": "p1", "label": 1, "ts": ts}]},
        headers=bearer(key),
    )
    assert label.status_code == 422, label.text


async def test_a_dry_run_on_an_unknown_target_is_a_422(
    raw_client: httpx.AsyncClient, account: Account
) -> None:
    experiment = {
        "title": "kill the unknown",
        "steady-state-hypothesis": {"probes": ["api-gateway latency_p99_ms < 300"]},
        "method": [{"kind": "service_kill", "target": "no-such-service", "duration_s": 60}],
    }
    response = await raw_client.post(
        "/api/v1/chaos/experiments",
        json={"experiment": experiment, "dry_run": True, "observe_seconds": 60},
        headers=account.headers,
    )
    assert response.status_code == 422, response.text
    assert "no-such-service" in str(response.json()["detail"])


async def test_an_unexpected_failure_answers_json_with_the_request_id(
    app: FastAPI, raw_client: httpx.AsyncClient
) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/_broken", broken)
    response = await raw_client.get("/api/v1/_broken", headers={"x-request-id": "req-42"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": "InternalError",
        "detail": "an unexpected error occurred",
        "request_id": "req-42",
    }
    assert response.headers["x-request-id"] == "req-42"
    assert "a bug" not in response.text


async def test_a_request_id_that_is_not_a_plain_token_is_replaced(
    raw_client: httpx.AsyncClient,
) -> None:
    response = await raw_client.get("/health", headers={"x-request-id": 'x" injected=1'})
    assert response.headers["x-request-id"] != 'x" injected=1'
    assert len(response.headers["x-request-id"]) == 32


async def test_a_locked_store_answers_503_with_retry_after(
    app: FastAPI, raw_client: httpx.AsyncClient
) -> None:
    async def locked() -> None:
        cause = sqlite3.OperationalError("database is locked")
        raise OperationalError("INSERT INTO series ...", {}, cause)

    async def other_failure() -> None:
        cause = sqlite3.OperationalError("no such table: series")
        raise OperationalError("SELECT ...", {}, cause)

    app.add_api_route("/api/v1/_locked", locked)
    app.add_api_route("/api/v1/_missing", other_failure)
    busy = await raw_client.get("/api/v1/_locked")
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "2"
    assert busy.json()["error"] == "StoreBusy"
    broken = await raw_client.get("/api/v1/_missing")
    assert broken.status_code == 500
    assert broken.json()["error"] == "InternalError"


@pytest.mark.parametrize("cursor", ["¹", "٣", "99999999999", "-1", "x"])
async def test_cursors_that_no_page_gave_out_are_a_422(
    raw_client: httpx.AsyncClient, account: Account, cursor: str
) -> None:
    audit = await raw_client.get(
        "/api/v1/audit", params={"cursor": cursor}, headers=account.headers
    )
    assert audit.status_code == 422, audit.text
    huge = base64.urlsafe_b64encode(f"{10**30}:{cursor}".encode()).decode()
    for given in (cursor, huge):
        logs = await raw_client.get(
            "/api/v1/logs", params={"cursor": given}, headers=account.headers
        )
        assert logs.status_code == 422, logs.text
