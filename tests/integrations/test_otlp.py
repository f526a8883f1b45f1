from __future__ import annotations

import time

import httpx
from _helpers import series_points
from factories import bearer
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

OTLP = "/v1/metrics"


def export_request(now_ns: int) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    attribute = resource.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "payments"
    metrics = resource.scope_metrics.add().metrics

    gauge = metrics.add(name="system.cpu.utilization")
    point = gauge.gauge.data_points.add(time_unix_nano=now_ns, as_double=0.42)
    point.attributes.add(key="cpu").value.int_value = 3

    counter = metrics.add(name="http.server.requests")
    counter.sum.is_monotonic = True
    counter.sum.aggregation_temporality = 2  # cumulative
    counter.sum.data_points.add(time_unix_nano=now_ns, as_int=1234)

    histogram = metrics.add(name="http.server.duration")
    h = histogram.histogram.data_points.add(time_unix_nano=now_ns, count=10, sum=2.5)
    h.explicit_bounds.extend([0.1, 0.5])
    h.bucket_counts.extend([6, 3, 1])

    stale = metrics.add(name="queue.size")
    stale.gauge.data_points.add(time_unix_nano=now_ns, as_double=5.0, flags=1)
    return request


async def test_protobuf_export_maps_gauges_counters_and_histograms(
    client: httpx.AsyncClient, api_key: str
) -> None:
    now = time.time() - 5
    now_ns = int(now * 1e9)
    ts = now_ns // 1_000_000 / 1000
    response = await client.post(
        OTLP,
        content=export_request(now_ns).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", "x-api-key": api_key},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_data_points == 1  # the "no recorded value" point

    start = now - 60
    assert await series_points(client, api_key, "system_cpu_utilization", start=start) == {
        ("payments", (("cpu", "3"),)): [[ts, 0.42]]
    }
    assert await series_points(client, api_key, "http_server_requests_total", start=start) == {
        ("payments", ()): [[ts, 1234.0]]
    }
    buckets = await series_points(client, api_key, "http_server_duration_bucket", start=start)
    assert buckets == {
        ("payments", (("le", "0.1"),)): [[ts, 6.0]],
        ("payments", (("le", "0.5"),)): [[ts, 9.0]],
        ("payments", (("le", "+Inf"),)): [[ts, 10.0]],
    }
    count = await series_points(client, api_key, "http_server_duration_count", start=start)
    total = await series_points(client, api_key, "http_server_duration_sum", start=start)
    assert count == {("payments", ()): [[ts, 10.0]]}
    assert total == {("payments", ()): [[ts, 2.5]]}
    assert await series_points(client, api_key, "queue_size", start=start) == {}


async def test_json_export_with_camel_case_and_string_int64(
    client: httpx.AsyncClient, api_key: str
) -> None:
    now_ns = int((time.time() - 5) * 1e9)
    body = {
        "resourceMetrics": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "search"}}]
                },
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "jvm.threads",
                                "gauge": {
                                    "dataPoints": [
                                        {"timeUnixNano": str(now_ns), "asInt": "57"},
                                        {"timeUnixNano": "1000", "asInt": "1"},
                                    ]
                                },
                            }
                        ]
                    }
                ],
            }
        ]
    }
    response = await client.post(OTLP, json=body, headers=bearer(api_key))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["partialSuccess"]["rejectedDataPoints"] == "1"  # the 1970 point
    points = await series_points(client, api_key, "jvm_threads", start=time.time() - 60)
    assert points == {("search", ()): [[now_ns // 1_000_000 / 1000, 57.0]]}


async def test_bad_bodies_and_missing_keys_are_refused(
    client: httpx.AsyncClient, api_key: str
) -> None:
    assert (await client.post(OTLP, content=b"", headers={})).status_code == 401
    bad = await client.post(
        OTLP,
        content=b"\xff\xff",
        headers={"Content-Type": "application/x-protobuf"} | bearer(api_key),
    )
    assert bad.status_code == 422
    text = await client.post(
        OTLP, content=b"x", headers={"Content-Type": "text/plain"} | bearer(api_key)
    )
    assert text.status_code == 422
    assert "application/x-protobuf" in text.json()["detail"][0]["msg"]
