"""The Prometheus query API as Grafana's datasource calls it: form posts, basic or bearer auth
with an API key, Prometheus' answer and error shapes, metric and label listing."""

from __future__ import annotations

import base64
import math
import time

import httpx
import numpy as np
import pytest
from factories import Account, bearer, create_api_key, register
from hypothesis import given, settings
from hypothesis import strategies as st

from failcast.promql.endpoints import format_number

NOW = int(time.time()) // 60 * 60


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"grafana:{key}".encode()).decode()}


@pytest.fixture
async def stored(client: httpx.AsyncClient, api_key: str) -> str:
    """Two services' request counters and a latency gauge over the last 30 minutes."""
    samples = []
    for i in range(31):
        ts = NOW - (30 - i) * 60
        for service, per_minute in (("checkout", 60.0), ("search", 120.0)):
            samples.append(
                {
                    "service": service,
                    "metric": "http_requests_total",
                    "labels": {"code": "200"},
                    "ts": ts,
                    "value": per_minute * i,
                }
            )
            samples.append(
                {"service": service, "metric": "latency_ms", "ts": ts, "value": 100.0 + i}
            )
    response = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key)
    )
    assert response.status_code == 200, response.text
    return api_key


async def test_grafana_form_post_with_basic_auth_charts_a_rate(
    client: httpx.AsyncClient, stored: str
) -> None:
    response = await client.post(
        "/prometheus/api/v1/query_range",
        data={
            "query": "sum by (service) (rate(http_requests_total[5m]))",
            "start": str(NOW - 600),
            "end": str(NOW),
            "step": "60",
        },
        headers=basic(stored),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success" and body["data"]["resultType"] == "matrix"
    rates = {r["metric"]["service"]: r["values"] for r in body["data"]["result"]}
    assert set(rates) == {"checkout", "search"}
    assert len(rates["checkout"]) == 11
    assert {v for _, v in rates["checkout"]} == {"1"}  # 60 a minute is 1 a second
    assert {v for _, v in rates["search"]} == {"2"}
    assert rates["search"][-1][0] == NOW


async def test_instant_queries_with_a_bearer_key(client: httpx.AsyncClient, stored: str) -> None:
    response = await client.get(
        "/prometheus/api/v1/query",
        params={"query": 'latency_ms{service="search"}', "time": str(NOW)},
        headers=bearer(stored),
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["data"]["result"]
    assert result["metric"] == {
        "__name__": "latency_ms",
        "service": "search",
        "job": "search",
    }
    assert result["value"] == [NOW, "130"]
    scalar = await client.get(
        "/prometheus/api/v1/query", params={"query": "1 + 2"}, headers=bearer(stored)
    )
    assert scalar.json()["data"]["resultType"] == "scalar"
    assert scalar.json()["data"]["result"][1] == "3"


async def test_metrics_and_labels_are_listed_for_explore(
    client: httpx.AsyncClient, stored: str
) -> None:
    headers = bearer(stored)
    names = await client.get("/prometheus/api/v1/label/__name__/values", headers=headers)
    assert names.json()["status"] == "success"
    listed = names.json()["data"]
    assert {"http_requests_total", "latency_ms"} <= set(listed)
    # Failcast's own results are metrics too.
    assert "failcast_service_samples" in listed
    labels = await client.get("/prometheus/api/v1/labels", headers=headers)
    assert {"__name__", "code", "job", "service"} <= set(labels.json()["data"])
    services = await client.get(
        "/prometheus/api/v1/label/service/values",
        params={"match[]": "latency_ms"},
        headers=headers,
    )
    assert services.json()["data"] == ["checkout", "search"]
    series = await client.post(
        "/prometheus/api/v1/series",
        data={"match[]": ['{__name__=~"http_.*", service!="search"}']},
        headers=headers,
    )
    assert series.json()["data"] == [
        {"__name__": "http_requests_total", "code": "200", "job": "checkout", "service": "checkout"}
    ]
    info = await client.get("/prometheus/api/v1/status/buildinfo", headers=headers)
    assert info.json()["data"]["version"].startswith("2.")


@pytest.mark.parametrize(
    ("path", "params", "kind", "says"),
    [
        ("query", {"query": "sum("}, "bad_data", "parse error"),
        ("query", {"query": "rate(x[5m:1m])"}, "bad_data", "subqueries are not supported"),
        ("query", {}, "bad_data", "'query': missing"),
        ("query", {"query": "up", "time": "yesterday"}, "bad_data", "'time'"),
        (
            "query_range",
            {"query": "up", "start": "100", "end": "50", "step": "1"},
            "bad_data",
            "end",
        ),
        (
            "query_range",
            {"query": "up", "start": "0", "end": "100000", "step": "1"},
            "bad_data",
            "maximum resolution",
        ),
        ("query_range", {"query": "up", "step": "0"}, "bad_data", "step"),
        ("series", {}, "bad_data", "match[]"),
    ],
)
async def test_errors_have_prometheus_shape(
    client: httpx.AsyncClient, stored: str, path: str, params: dict[str, str], kind: str, says: str
) -> None:
    response = await client.get(f"/prometheus/api/v1/{path}", params=params, headers=bearer(stored))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == kind
    assert says in body["error"]


async def test_a_key_sees_only_its_org_and_needs_the_read_scope(
    client: httpx.AsyncClient, stored: str
) -> None:
    other = await register(client, "other@example.com", "Other")
    other_key = await create_api_key(client, other)
    response = await client.get(
        "/prometheus/api/v1/query", params={"query": "latency_ms"}, headers=basic(other_key)
    )
    assert response.json()["data"]["result"] == []
    ingest_only = await create_api_key(client, other, scopes=["ingest"])
    refused = await client.get(
        "/prometheus/api/v1/query", params={"query": "latency_ms"}, headers=basic(ingest_only)
    )
    assert refused.status_code == 403
    anonymous = await client.get("/prometheus/api/v1/query", params={"query": "latency_ms"})
    assert anonymous.status_code == 401
    wrong = await client.get(
        "/prometheus/api/v1/query", params={"query": "up"}, headers=basic("not-a-key")
    )
    assert wrong.status_code == 401


async def test_people_can_query_with_their_session_token(
    client: httpx.AsyncClient, account: Account, stored: str
) -> None:
    response = await client.get(
        "/prometheus/api/v1/query",
        params={"query": "count(latency_ms)", "time": str(NOW)},
        headers=account.headers,
    )
    assert response.json()["data"]["result"][0]["value"][1] == "2"


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_values_are_written_as_prometheus_writes_them(value: float) -> None:
    if value != value:
        expected = "NaN"
    elif value in (math.inf, -math.inf):
        expected = "+Inf" if value > 0 else "-Inf"
    else:
        expected = np.format_float_positional(value, unique=True, trim="-")
    assert format_number(value) == expected
    assert value != value or float(format_number(value)) == value
