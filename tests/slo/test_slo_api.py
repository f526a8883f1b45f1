"""SLO definitions, imports and status over the API, with budgets and burn rates worked out by
hand from constructed samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from factories import Account, bearer, register

AT = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)

AVAILABILITY = {
    "name": "api-availability",
    "service": "api",
    "objective": 0.99,
    "sli": {"type": "ratio", "ratio": {"query": "error_rate"}},
}

SLOTH = """\
version: prometheus/v1
service: checkout
labels: {team: payments}
slos:
  - name: requests-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
      page_alert: {disable: false}
      ticket_alert: {disable: true}
"""

OPENSLO = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: ranker-accuracy
spec:
  service: ranker
  budgetingMethod: Occurrences
  timeWindow:
    - duration: {window}
      isRolling: true
  indicator:
    metadata: {{name: accuracy}}
    spec:
      thresholdMetric:
        metricSource:
          type: failcast
          spec: {{query: accuracy}}
  objectives:
    - op: gte
      value: 0.9
      target: 0.9
"""


async def push(
    client: httpx.AsyncClient, key: str, service: str, metric: str, values: list[float]
) -> None:
    """One sample a minute, the last one at AT."""
    n = len(values)
    samples = [
        {
            "service": service,
            "metric": metric,
            "ts": (AT - timedelta(minutes=n - 1 - i)).isoformat(),
            "value": v,
        }
        for i, v in enumerate(values)
    ]
    response = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    assert response.status_code == 200, response.text


async def create(client: httpx.AsyncClient, account: Account, body: dict[str, Any]) -> int:
    response = await client.post("/api/v1/slos", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    slo_id: int = response.json()["id"]
    return slo_id


async def status(client: httpx.AsyncClient, account: Account, slo_id: int) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/slos/{slo_id}/status", params={"at": AT.isoformat()}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_crud_validation_and_tenant_scoping(
    client: httpx.AsyncClient, account: Account
) -> None:
    slo_id = await create(client, account, AVAILABILITY)
    listed = (await client.get("/api/v1/slos", headers=account.headers)).json()
    assert [(s["id"], s["name"], s["objective"]) for s in listed] == [
        (slo_id, "api-availability", 0.99)
    ]
    response = await client.post("/api/v1/slos", json=AVAILABILITY, headers=account.headers)
    assert response.status_code == 409

    response = await client.post(
        "/api/v1/slos", json=AVAILABILITY | {"objective": 99.9}, headers=account.headers
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"field": "body.objective", "msg": "objective is a fraction: write 0.999 for 99.9%"}
    ]
    response = await client.post(
        "/api/v1/slos",
        json=AVAILABILITY | {"sli": {"type": "events", "total": {"query": "requests"}}},
        headers=account.headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "body.sli.events"

    updated = AVAILABILITY | {"objective": 0.995, "description": "fewer errors"}
    response = await client.put(f"/api/v1/slos/{slo_id}", json=updated, headers=account.headers)
    assert response.status_code == 200, response.text
    one = (await client.get(f"/api/v1/slos/{slo_id}", headers=account.headers)).json()
    assert one["objective"] == 0.995 and one["description"] == "fewer errors"

    other = await register(client, "other@example.com", "Other")
    for method, path in (
        ("GET", f"/api/v1/slos/{slo_id}"),
        ("GET", f"/api/v1/slos/{slo_id}/status"),
        ("PUT", f"/api/v1/slos/{slo_id}"),
        ("DELETE", f"/api/v1/slos/{slo_id}"),
    ):
        body = AVAILABILITY if method == "PUT" else None
        response = await client.request(method, path, json=body, headers=other.headers)
        assert response.status_code == 404, (method, path)
    assert (await client.get("/api/v1/slos", headers=other.headers)).json() == []
    assert (await client.get("/api/v1/slos/status", headers=other.headers)).json() == []

    response = await client.delete(f"/api/v1/slos/{slo_id}", headers=account.headers)
    assert response.status_code == 204
    response = await client.get(f"/api/v1/slos/{slo_id}", headers=account.headers)
    assert response.status_code == 404


async def test_import_detects_the_format_and_names_lines(
    client: httpx.AsyncClient, account: Account
) -> None:
    yaml_headers = account.headers | {"Content-Type": "application/yaml"}
    response = await client.post("/api/v1/slos/import", content=SLOTH, headers=yaml_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["format"] == "sloth" and len(body["created"]) == 1
    imported = body["slos"][0]
    assert imported["objective"] == 0.999
    assert imported["labels"] == {"team": "payments"}
    assert imported["alerting"]["ticket"] is False

    again = await client.post("/api/v1/slos/import", content=SLOTH, headers=yaml_headers)
    assert again.json()["created"] == [] and again.json()["updated"] == body["created"]

    response = await client.post(
        "/api/v1/slos/import", content=OPENSLO.format(window="28d"), headers=yaml_headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["format"] == "openslo"
    assert response.json()["slos"][0]["window_days"] == 28

    response = await client.post(
        "/api/v1/slos/import", content=OPENSLO.format(window="7d"), headers=yaml_headers
    )
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert (problem["line"], problem["field"]) == (9, "spec.timeWindow.0.duration")
    assert "7d is not supported" in problem["msg"]

    own = (
        "slos:\n  - name: x\n    service: api\n    objective: 1.5\n"
        "    sli: {type: ratio, ratio: {query: e}}\n"
    )
    response = await client.post("/api/v1/slos/import", content=own, headers=yaml_headers)
    assert response.status_code == 422
    assert (response.json()["detail"][0]["line"], response.json()["detail"][0]["field"]) == (
        4,
        "slos.0.objective",
    )

    response = await client.post(
        "/api/v1/slos/import", content="hello: world\n", headers=yaml_headers
    )
    assert response.status_code == 422
    assert "not a known SLO file" in response.json()["detail"][0]["msg"]
    listed = (await client.get("/api/v1/slos", headers=account.headers)).json()
    assert sorted(s["name"] for s in listed) == ["ranker-accuracy", "requests-availability"]


async def test_status_from_throughput_and_error_rate(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    # 60 minutes at 10 requests a second; the last ten minutes fail 20 % of requests.
    await push(client, api_key, "api", "throughput_rps", [10.0] * 60)
    await push(client, api_key, "api", "error_rate", [0.0] * 50 + [0.2] * 10)
    slo_id = await create(client, account, AVAILABILITY)
    body = await status(client, account, slo_id)
    assert body["data"] == "ok"
    budget = body["budget"]
    # 600 requests a minute: 36,000 in all, 1,200 bad, 360 allowed at 99 %.
    assert budget["total_events"] == pytest.approx(36_000)
    assert budget["bad_events"] == pytest.approx(1_200)
    assert budget["allowed_bad"] == pytest.approx(360)
    assert budget["remaining"] == pytest.approx(1 - 1200 / 360)
    assert budget["exhausted"] is True
    rates = body["burn_rates"]
    assert rates["5m"] == pytest.approx(20.0)
    assert rates["30m"] == pytest.approx((1200 / 18_000) / 0.01)
    assert rates["1h"] == pytest.approx((1200 / 36_000) / 0.01)
    tiers = {t["name"]: t for t in body["tiers"]}
    # 1 h burn 3.3 is below 14.4 and 6 h burn 3.3 below 6: no page; the 3 d tier burns.
    assert [n for n, t in tiers.items() if t["firing"]] == ["ticket-3d"]
    assert body["severity"] == "ticket"
    assert body["hours_to_exhaustion"] == 0.0
    assert body["guard"]["holding_back"] == []

    listed = (
        await client.get(
            "/api/v1/slos/status", params={"at": AT.isoformat()}, headers=account.headers
        )
    ).json()
    assert [s["id"] for s in listed] == [slo_id]


async def test_ml_quality_latency_and_unresolved(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await push(client, api_key, "ranker", "accuracy", [0.95] * 57 + [0.85] * 3)
    await push(client, api_key, "ranker", "latency_p99_ms", [100.0] * 59 + [300.0])
    accuracy = await create(
        client,
        account,
        {
            "name": "ranker-accuracy",
            "service": "ranker",
            "objective": 0.9,
            "sli": {
                "type": "threshold",
                "metric": {"query": "accuracy"},
                "op": "gte",
                "value": 0.9,
            },
        },
    )
    body = await status(client, account, accuracy)
    # 60 intervals, 3 bad; 10 % of 60 may be bad: half the budget is left.
    assert body["budget"]["sli"] == pytest.approx(57 / 60)
    assert body["budget"]["remaining"] == pytest.approx(0.5)
    assert body["burn_rates"]["5m"] == pytest.approx((3 / 5) / 0.1)

    latency = await create(
        client,
        account,
        {
            "name": "ranker-latency",
            "service": "ranker",
            "objective": 0.95,
            "sli": {"type": "latency", "threshold_ms": 200, "method": "intervals"},
        },
    )
    body = await status(client, account, latency)
    assert body["budget"]["bad_events"] == 1 and body["budget"]["total_events"] == 60

    by_requests = await create(
        client,
        account,
        {
            "name": "ranker-latency-requests",
            "service": "ranker",
            "objective": 0.95,
            "sli": {"type": "latency", "threshold_ms": 200},
        },
    )
    body = await status(client, account, by_requests)
    assert body["data"] == "unresolved" and "histogram" in body["problem"]
    assert body["severity"] == "none" and body["budget"] is None

    promql = await create(
        client,
        account,
        AVAILABILITY | {"sli": {"type": "ratio", "ratio": {"query": "sum(rate(x[5m]))"}}},
    )
    body = await status(client, account, promql)
    assert body["data"] == "unresolved" and "not a stored metric name" in body["problem"]

    quiet = await create(client, account, AVAILABILITY | {"service": "silent"})
    body = await status(client, account, quiet)
    assert body["data"] == "no_data" and body["severity"] == "none"


async def test_minimum_traffic_guard(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    sparse = {
        "name": "sparse-availability",
        "service": "sparse",
        "objective": 0.999,
        "sli": {
            "type": "events",
            "bad": {"query": "errors"},
            "total": {"query": "requests"},
        },
    }
    slo_id = await create(client, account, sparse)
    # Ten requests in the last hour, one failed: a burn of 100, but only one bad event.
    await push(client, api_key, "sparse", "requests", [10.0])
    await push(client, api_key, "sparse", "errors", [1.0])
    body = await status(client, account, slo_id)
    tiers = {t["name"]: t for t in body["tiers"]}
    assert tiers["page-1h"]["long_burn"] == pytest.approx(100.0)
    assert tiers["page-1h"]["burning"] is True and tiers["page-1h"]["guarded"] is True
    assert body["guard"]["holding_back"] == ["page-1h", "page-6h", "ticket-3d"]
    assert body["severity"] == "none"

    await push(client, api_key, "sparse", "errors", [3.0])  # three failures: enough to page
    body = await status(client, account, slo_id)
    assert body["guard"]["holding_back"] == []
    assert body["severity"] == "page"
