from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from factories import bearer

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def sample(i: int = 0, **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "service": "checkout",
        "metric": "latency_ms",
        "labels": {"region": "eu"},
        "ts": (NOW - timedelta(minutes=1000 - i)).isoformat(),
        "value": float(i),
    }
    return base | overrides


async def stats(client: httpx.AsyncClient, key: str) -> dict[str, object]:
    response = await client.get("/api/v1/stats", headers=bearer(key))
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_thousand_samples_round_trip_with_step_aggregation(
    client: httpx.AsyncClient, api_key: str
) -> None:
    samples = [sample(i) for i in range(1000)]
    response = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(key := api_key)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1000, "services_created": 1, "series_created": 1}

    start = NOW - timedelta(minutes=1000)
    response = await client.get(
        "/api/v1/metrics",
        params={
            "service": "checkout",
            "metric": "latency_ms",
            "labels": "region=eu",
            "start": start.isoformat(),
            "end": NOW.isoformat(),
            "step": "10m",
            "agg": "avg",
        },
        headers=bearer(key),
    )
    assert response.status_code == 200, response.text
    [series] = response.json()["series"]
    assert series["labels"] == {"region": "eu"}
    points = series["points"]
    assert len(points) == 100
    # Bucket k holds values 10k..10k+9, so its mean is 10k + 4.5.
    assert points[0] == [start.timestamp(), 4.5]
    assert points[57][1] == 574.5
    assert points[1][0] - points[0][0] == 600

    for agg, expected in [
        ("min", 570.0),
        ("max", 579.0),
        ("sum", 5745.0),
        ("count", 10.0),
        ("last", 579.0),
    ]:
        response = await client.get(
            "/api/v1/metrics",
            params={
                "metric": "latency_ms",
                "start": start.isoformat(),
                "end": NOW.isoformat(),
                "step": "600",
                "agg": agg,
            },
            headers=bearer(key),
        )
        assert response.json()["series"][0]["points"][57][1] == expected, agg

    raw = await client.get(
        "/api/v1/metrics",
        params={"metric": "latency_ms", "start": start.isoformat(), "end": NOW.isoformat()},
        headers=bearer(key),
    )
    assert len(raw.json()["series"][0]["points"]) == 1000
    assert (await stats(client, key))["samples"] == 1000


async def test_unix_seconds_and_rfc3339_are_the_same_instant(
    client: httpx.AsyncClient, api_key: str
) -> None:
    ts = NOW - timedelta(minutes=5)
    batch = [
        sample(ts=ts.timestamp(), value=1.0),
        sample(ts=ts.isoformat().replace("+00:00", "Z"), value=2.0),
    ]
    response = await client.post(
        "/api/v1/metrics", json={"samples": batch}, headers=bearer(api_key)
    )
    assert response.status_code == 200, response.text
    # Same series and instant: the last one in the batch wins, and only one row exists.
    assert (await stats(client, api_key))["samples"] == 1
    body = (
        await client.get(
            "/api/v1/metrics", params={"metric": "latency_ms"}, headers=bearer(api_key)
        )
    ).json()
    assert body["series"][0]["points"] == [[ts.timestamp(), 2.0]]


async def test_resending_a_batch_creates_no_duplicates_and_last_write_wins(
    client: httpx.AsyncClient, api_key: str
) -> None:
    batch = [sample(i) for i in range(50)]
    for _ in range(2):
        response = await client.post(
            "/api/v1/metrics", json={"samples": batch}, headers=bearer(api_key)
        )
        assert response.status_code == 200
    changed = [sample(i, value=-1.0) for i in range(50)]
    await client.post("/api/v1/metrics", json={"samples": changed}, headers=bearer(api_key))
    assert (await stats(client, api_key))["samples"] == 50
    body = (
        await client.get(
            "/api/v1/metrics",
            params={"metric": "latency_ms", "start": (NOW - timedelta(days=1)).isoformat()},
            headers=bearer(api_key),
        )
    ).json()
    assert {v for _, v in body["series"][0]["points"]} == {-1.0}


async def test_bad_batch_names_every_problem_and_stores_nothing(
    client: httpx.AsyncClient, api_key: str
) -> None:
    good = [sample(i) for i in range(10)]
    bad = [
        *good[:3],
        sample(3, value=float("nan")),
        *good[4:6],
        sample(6, metric="9-bad name"),
        sample(7, ts=(NOW - timedelta(days=400)).isoformat()),
        sample(8, labels={"bad-label": "x"}),
        sample(9, ts="yesterday"),
    ]
    # json.dumps writes NaN as the bare token many clients send.
    import json

    response = await client.post(
        "/api/v1/metrics",
        content=json.dumps({"samples": bad}),
        headers=bearer(api_key) | {"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationFailed"
    problems = {(p["index"], p["field"]) for p in body["detail"]}
    assert problems == {(3, "value"), (6, "metric"), (7, "ts"), (8, "labels"), (9, "ts")}
    messages = {p["index"]: p["msg"] for p in body["detail"]}
    assert "finite" in messages[3]
    assert "older than" in messages[7]
    assert "bad-label" in messages[8]
    stored = await stats(client, api_key)
    assert stored["samples"] == 0
    assert stored["services"] == 0


async def test_future_timestamps_and_unknown_fields_are_refused(
    client: httpx.AsyncClient, api_key: str
) -> None:
    batch = [sample(0, ts=(NOW + timedelta(days=2)).timestamp()), sample(1, colour="red")]
    response = await client.post(
        "/api/v1/metrics", json={"samples": batch}, headers=bearer(api_key)
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {(p["index"], p["field"]) for p in detail} == {(0, "ts"), (1, "colour")}
    assert "future" in detail[0]["msg"]


async def test_oversized_batch_gets_413(client: httpx.AsyncClient, api_key: str) -> None:
    batch = [sample(i % 1000, value=float(i)) for i in range(10_001)]
    response = await client.post(
        "/api/v1/metrics", json={"samples": batch}, headers=bearer(api_key)
    )
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
    assert "10000" in response.json()["detail"]


async def test_malformed_json_and_wrong_shape_get_422(
    client: httpx.AsyncClient, api_key: str
) -> None:
    response = await client.post(
        "/api/v1/metrics",
        content=b"{not json",
        headers=bearer(api_key) | {"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"][0]["msg"]
    response = await client.post("/api/v1/metrics", json={"points": []}, headers=bearer(api_key))
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["detail"]}
    assert fields == {"samples", "points"}


async def test_ingest_needs_a_credential_with_the_ingest_scope(
    client: httpx.AsyncClient, account: object
) -> None:
    from factories import Account, create_api_key

    assert isinstance(account, Account)
    response = await client.post("/api/v1/metrics", json={"samples": [sample()]})
    assert response.status_code == 401
    read_only = await create_api_key(client, account, ["read"])
    response = await client.post(
        "/api/v1/metrics", json={"samples": [sample()]}, headers=bearer(read_only)
    )
    assert response.status_code == 403
    assert "ingest" in response.json()["detail"]


async def test_many_services_and_label_sets_in_one_batch(
    client: httpx.AsyncClient, api_key: str
) -> None:
    batch = [sample(i, service=f"svc-{i % 7}", labels={"pod": f"p{i % 3}"}) for i in range(210)]
    response = await client.post(
        "/api/v1/metrics", json={"samples": batch}, headers=bearer(api_key)
    )
    assert response.json() == {"accepted": 210, "services_created": 7, "series_created": 21}
    # A second batch reuses every series.
    response = await client.post(
        "/api/v1/metrics", json={"samples": batch}, headers=bearer(api_key)
    )
    assert response.json() == {"accepted": 210, "services_created": 0, "series_created": 0}
    services = (await client.get("/api/v1/services", headers=bearer(api_key))).json()
    assert [s["name"] for s in services] == [f"svc-{i}" for i in range(7)]
    body = (
        await client.get(
            "/api/v1/metrics",
            params={
                "metric": "latency_ms",
                "service": "svc-0",
                "labels": "pod=p0",
                "start": (NOW - timedelta(days=1)).isoformat(),
            },
            headers=bearer(api_key),
        )
    ).json()
    assert len(body["series"]) == 1
    assert len(body["series"][0]["points"]) == 10
