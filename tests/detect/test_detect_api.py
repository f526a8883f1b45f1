"""The detection API: configurations by name, scoring on demand, and choosing the detector of a
live series."""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
import pytest
from factories import Account, bearer
from fastapi import FastAPI

from failcast.deps import services_of
from failcast.detect.live import DEFAULT_DETECTOR
from failcast.detect.service import LiveScoring

MINUTE = 60
START = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture(autouse=True)
async def no_timers(app: FastAPI) -> None:
    """The tests drive live scoring by hand."""
    await services_of(app).runner.stop()


def _wave(n: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return [float(v) for v in 50 + 5 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, n)]


async def _score(
    client: httpx.AsyncClient, account: Account, body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/api/v1/detect/score", json=body, headers=account.headers)


async def test_detectors_are_listed_by_name_with_the_default_first(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.get("/api/v1/detectors", headers=account.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["threshold"] == 0.5
    first, *rest = body["detectors"]
    assert first["name"] == "surprise" and first["default"] is True
    assert first["single"]["name"] == "surprise" and first["vector"]["name"] == "surprise_vector"
    names = {d["name"] for d in rest}
    assert {"mad-zscore", "reference-zscore", "fused-likelihood", "mahalanobis"} <= names
    assert not any(d["default"] for d in rest)


async def test_scoring_says_why_a_point_has_no_score_and_ranks_the_spike_first(
    client: httpx.AsyncClient, account: Account
) -> None:
    values: list[float | None] = list(_wave(400))
    values[300] = 90.0
    values[350] = None
    body = {"timestamps": [START + i * 300 for i in range(400)], "values": values}
    response = await _score(client, account, body)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["detector"] == "surprise" and out["spec"] == DEFAULT_DETECTOR
    points = out["points"]
    assert points[0]["score"] is None and points[0]["status"] == "warming_up"
    assert "warming up" in points[0]["reason"]
    assert points[350] | {"ts": None} == {
        "ts": None,
        "score": None,
        "change": None,
        "status": "missing",
        "reason": "missing value",
        "drivers": [],
    }
    scores = [p["score"] if p["score"] is not None else -1.0 for p in points]
    assert int(np.argmax(scores)) == 300 and 0.5 <= scores[300] < 1.0
    assert out["alarms"] >= 1


async def test_scoring_a_vector_names_its_drivers_and_leaves_constant_metrics_out(
    client: httpx.AsyncClient, account: Account
) -> None:
    n = 300
    latency = _wave(n + 200, seed=1)
    errors = _wave(n + 200, seed=2)
    rows = [[latency[i], errors[i], 3.0] for i in range(n + 200)]
    rows[n + 100][1] = 95.0
    stamps = [START + i * 300 for i in range(n + 200)]
    body = {
        "metrics": ["latency", "errors", "replicas"],
        "timestamps": stamps[n:],
        "values": rows[n:],
        "train": {"timestamps": stamps[:n], "values": rows[:n]},
    }
    response = await _score(client, account, body)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["spec"]["name"] == "surprise_vector"
    assert all(p["status"] == "scored" for p in out["points"])
    assert out["points"][100]["drivers"][0] == "errors"
    assert out["points"][100]["score"] >= 0.5
    replicas = next(m for m in out["metrics"] if m["metric"] == "replicas")
    assert replicas == {
        "metric": "replicas",
        "status": "constant",
        "scored": 0,
        "counts": {"constant": 200},
    }


async def test_a_named_configuration_and_its_parameters_can_be_chosen(
    client: httpx.AsyncClient, account: Account
) -> None:
    body = {
        "timestamps": [START + i * 300 for i in range(200)],
        "values": _wave(200),
        "detector": "mad-zscore",
        "params": {"window": 50, "min_points": 20},
    }
    response = await _score(client, account, body)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["detector"] == "mad-zscore"
    assert out["spec"] == {"name": "mad_zscore", "params": {"window": 50, "min_points": 20}}
    assert sum(p["score"] is None for p in out["points"]) == 20


@pytest.mark.parametrize(
    ("change", "field", "index", "text"),
    [
        ({"detector": "magic"}, "detector", None, "unknown detector 'magic'"),
        ({"params": {"shrot": 3}}, "params", None, "'shrot': not a parameter"),
        ({"params": {"hold": -1}}, "params", None, "hold must be >= 0"),
        ({"timestamps": [START, START, START + 600]}, "timestamps", 1, "must increase"),
        ({"timestamps": [START, "yesterday", START + 600]}, "timestamps", 1, "timestamp"),
        ({"values": [1.0, 2.0]}, "values", None, "2 rows for 3 timestamps"),
        ({"values": [[1.0, 2.0], [1.0], [1.0, 2.0]]}, "values", 1, "expected 2 values"),
        ({"detector": "mahalanobis"}, "detector", None, "does not score one metric"),
    ],
)
async def test_bad_requests_say_what_and_where(
    client: httpx.AsyncClient,
    account: Account,
    change: dict[str, Any],
    field: str,
    index: int | None,
    text: str,
) -> None:
    body = {"timestamps": [START, START + 300, START + 600], "values": [1.0, 2.0, 3.0]} | change
    response = await _score(client, account, body)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["field"] == field
    assert problem.get("index") == index
    assert text in problem["msg"]


async def test_a_live_series_runs_the_detector_chosen_for_its_metric(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    now = int(time.time()) // 60 * 60
    n = 200
    samples = [
        {"service": "checkout", "metric": metric, "ts": now - (n - i) * MINUTE, "value": v}
        for metric in ("latency_ms", "queue_depth")
        for i, v in enumerate(_wave(n))
    ]
    response = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key)
    )
    assert response.status_code == 200, response.text
    listed = await client.get(
        "/api/v1/detectors/series", params={"service": "checkout"}, headers=account.headers
    )
    assert listed.status_code == 200, listed.text
    assert {(s["metric"], s["status"], s["detector"]) for s in listed.json()} == {
        ("latency_ms", "not_started", "surprise"),
        ("queue_depth", "not_started", "surprise"),
    }

    chosen = {"service": "checkout", "metric": "queue_depth", "detector": "mad-zscore"}
    response = await client.put("/api/v1/detectors/series", json=chosen, headers=account.headers)
    assert response.status_code == 200, response.text
    assert [(s["detector"], s["chosen"]) for s in response.json()] == [("mad-zscore", True)]

    live: LiveScoring = services_of(app).live_scoring
    await live.run_org(account.org_id, now * 1000)
    listed = await client.get(
        "/api/v1/detectors/series", params={"service": "checkout"}, headers=account.headers
    )
    by_metric = {s["metric"]: s for s in listed.json()}
    assert by_metric["latency_ms"]["status"] == "scored"
    assert by_metric["latency_ms"]["points"] == n and by_metric["latency_ms"]["warmup"] == 150
    assert by_metric["queue_depth"]["detector"] == "mad-zscore"
    params = {"metric": "anomaly_score", "service": "checkout", "labels": "metric=queue_depth"}
    scores = await client.get("/api/v1/metrics", params=params, headers=account.headers)
    [series] = scores.json()["series"]
    assert series["labels"]["detector"] == "mad_zscore"

    gone = await client.delete(
        "/api/v1/detectors/series",
        params={"service": "checkout", "metric": "queue_depth"},
        headers=account.headers,
    )
    assert gone.status_code == 204, gone.text
    again = await client.delete(
        "/api/v1/detectors/series",
        params={"service": "checkout", "metric": "queue_depth"},
        headers=account.headers,
    )
    assert again.status_code == 404


async def test_choosing_a_live_detector_is_validated(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    sample = {"service": "checkout", "metric": "latency_ms", "ts": time.time(), "value": 1.0}
    await client.post("/api/v1/metrics", json={"samples": [sample]}, headers=bearer(api_key))
    put = client.put
    unknown = await put(
        "/api/v1/detectors/series",
        json={"service": "nowhere", "metric": "latency_ms", "detector": "surprise"},
        headers=account.headers,
    )
    assert unknown.status_code == 404
    bad = await put(
        "/api/v1/detectors/series",
        json={"service": "checkout", "metric": "latency_ms", "detector": "mahalanobis"},
        headers=account.headers,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "detector"
    scores = await put(
        "/api/v1/detectors/series",
        json={"service": "checkout", "metric": "anomaly_score", "detector": "surprise"},
        headers=account.headers,
    )
    assert scores.status_code == 422 and scores.json()["detail"][0]["field"] == "metric"
