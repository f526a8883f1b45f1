from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from factories import bearer

NOW = datetime.now(UTC).replace(microsecond=0)


def log(i: int, **overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "service": "checkout",
        "ts": (NOW - timedelta(seconds=300 - i)).isoformat(),
        "level": "error" if i % 5 == 0 else "info",
        "message": f"request {i} handled",
        "attributes": {"path": "/pay", "attempt": i % 3},
    }
    return entry | overrides


async def test_logs_round_trip_with_filters_and_cursor_pages(
    client: httpx.AsyncClient, api_key: str
) -> None:
    batch = [log(i) for i in range(250)]
    response = await client.post("/api/v1/logs", json={"logs": batch}, headers=bearer(api_key))
    assert response.status_code == 200, response.text
    again = await client.post("/api/v1/logs", json={"logs": batch}, headers=bearer(api_key))
    assert again.status_code == 200

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/logs", params=params, headers=bearer(api_key))).json()
        seen += [entry["message"] for entry in page["logs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Newest first, every line once although the batch was sent twice.
    assert seen == [f"request {i} handled" for i in reversed(range(250))]

    errors = (
        await client.get(
            "/api/v1/logs", params={"level": "error", "limit": 1000}, headers=bearer(api_key)
        )
    ).json()["logs"]
    assert len(errors) == 50
    assert errors[0]["attributes"] == {"path": "/pay", "attempt": 245 % 3}
    found = (
        await client.get("/api/v1/logs", params={"q": "request 17 "}, headers=bearer(api_key))
    ).json()["logs"]
    assert [entry["message"] for entry in found] == ["request 17 handled"]


async def test_bad_logs_are_refused_whole(client: httpx.AsyncClient, api_key: str) -> None:
    batch = [log(0), log(1, level="loud"), log(2, message=7), log(3, service="")]
    response = await client.post("/api/v1/logs", json={"logs": batch}, headers=bearer(api_key))
    assert response.status_code == 422
    assert {(p["index"], p["field"]) for p in response.json()["detail"]} == {
        (1, "level"),
        (2, "message"),
        (3, "service"),
    }
    page = (await client.get("/api/v1/logs", headers=bearer(api_key))).json()
    assert page["logs"] == []


async def test_bad_query_parameters_say_which(client: httpx.AsyncClient, api_key: str) -> None:
    response = await client.get("/api/v1/logs", params={"cursor": "!!"}, headers=bearer(api_key))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "cursor"
    response = await client.get(
        "/api/v1/metrics", params={"metric": "cpu", "start": "later"}, headers=bearer(api_key)
    )
    assert response.json()["detail"][0]["field"] == "start"
    response = await client.get(
        "/api/v1/metrics", params={"metric": "cpu", "step": "fast"}, headers=bearer(api_key)
    )
    assert response.json()["detail"][0]["field"] == "step"
    response = await client.get(
        "/api/v1/metrics",
        params={"metric": "cpu", "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        headers=bearer(api_key),
    )
    assert response.status_code == 422
    response = await client.get("/api/v1/metrics", headers=bearer(api_key))
    assert response.json()["detail"][0]["field"] == "query.metric"
