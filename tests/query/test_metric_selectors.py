"""GET /api/v1/metrics with a PromQL selector, and label names and values from the index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from factories import bearer

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
SERIES = [
    ("api", {"path": "/v1/users", "code": "200"}),
    ("api", {"path": "/v1/orders", "code": "500"}),
    ("api", {"path": "/v2/users", "code": "200", "canary": "true"}),
    ("web", {"code": "404"}),
]


@pytest.fixture
async def stored(client: httpx.AsyncClient, api_key: str) -> str:
    samples = [
        {
            "service": service,
            "metric": "http_requests",
            "labels": labels,
            "ts": (NOW - timedelta(minutes=5)).isoformat(),
            "value": float(n),
        }
        for n, (service, labels) in enumerate(SERIES)
    ]
    response = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key)
    )
    assert response.status_code == 200, response.text
    return api_key


async def _paths(client: httpx.AsyncClient, key: str, **params: str) -> list[str]:
    response = await client.get(
        "/api/v1/metrics", params={"metric": "http_requests", **params}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    return sorted(s["labels"].get("path", "-") for s in response.json()["series"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"selector": '{path=~"/v1/.*"}'}, ["/v1/orders", "/v1/users"]),
        ({"selector": '{path=~"/v1"}'}, []),
        ({"selector": '{path!~"/v1/.*"}'}, ["-", "/v2/users"]),
        ({"selector": '{path=""}'}, ["-"]),
        ({"selector": '{code!="200", canary=""}'}, ["-", "/v1/orders"]),
        ({"selector": 'http_requests{code=~"2.."}', "service": "api"}, ["/v1/users", "/v2/users"]),
        ({"selector": '{code=~"2.."}', "labels": "canary=true"}, ["/v2/users"]),
        ({"selector": 'other_metric{code=~"2.."}'}, []),  # both metric names must hold
        ({"labels": "code=200"}, ["/v1/users", "/v2/users"]),
    ],
)
async def test_a_selector_narrows_the_metric_query(
    client: httpx.AsyncClient, stored: str, params: dict[str, str], expected: list[str]
) -> None:
    assert await _paths(client, stored, **params) == expected


@pytest.mark.parametrize(
    ("selector", "says"),
    [
        ('{path=~"/v1/("}', "path"),
        ('{path=~"(?<=x)a"}', "path"),
        ("rate(x[5m])", "not a series selector"),
        ('{path="a" or code="b"}', "or"),
    ],
)
async def test_a_bad_selector_answers_422_naming_the_matcher(
    client: httpx.AsyncClient, stored: str, selector: str, says: str
) -> None:
    response = await client.get(
        "/api/v1/metrics",
        params={"metric": "http_requests", "selector": selector},
        headers=bearer(stored),
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationFailed"
    [problem] = body["detail"]
    assert problem["field"] == "selector"
    assert says in problem["msg"]


async def test_prometheus_label_names_and_values_come_from_the_index(
    client: httpx.AsyncClient, stored: str
) -> None:
    headers = bearer(stored)

    async def data(path: str, **params: str) -> list[str]:
        response = await client.get(f"/prometheus/api/v1/{path}", params=params, headers=headers)
        assert response.status_code == 200, response.text
        values: list[str] = response.json()["data"]
        return values

    names = await data("labels")
    assert {"__name__", "canary", "code", "job", "path", "service"} <= set(names)
    assert await data("label/path/values") == ["/v1/orders", "/v1/users", "/v2/users"]
    assert await data("label/code/values") == ["200", "404", "500"]
    assert set(await data("label/job/values")) >= {"api", "web"}
    assert "api" in await data("label/service/values")
    assert await data("label/nothing/values") == []
    assert await data("label/path/values", **{"match[]": '{code="500"}'}) == ["/v1/orders"]
