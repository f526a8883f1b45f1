from __future__ import annotations

import base64
import math
import struct
import time

import httpx
from _helpers import series_points, write_body
from factories import Account, bearer, create_api_key

from failcast.ingest.schemas import IngestLimits
from failcast.integrations.remote_write import body_samples, encode_write_request
from failcast.proto import remote_pb2

WRITE = "/api/v1/prometheus/write"
HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}
# Prometheus marks a series that disappeared with this exact NaN bit pattern.
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def basic(key: str, user: str = "prometheus") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_samples_land_under_job_or_service_and_keep_other_labels(
    client: httpx.AsyncClient, api_key: str
) -> None:
    now = int(time.time() * 1000) - 60_000
    body = write_body(
        [
            (
                {"__name__": "http_requests_total", "job": "api", "instance": "10.0.0.1:9100"},
                [(now, 10.0), (now + 15_000, 12.5)],
            ),
            (
                {"__name__": "cpu_pct", "job": "node", "service": "checkout", "instance": "a:1"},
                [(now, 42.0)],
            ),
        ]
    )
    response = await client.post(WRITE, content=body, headers=HEADERS | basic(api_key))
    assert response.status_code == 204, response.text
    assert response.content == b""

    requests = await series_points(client, api_key, "http_requests_total", start=now / 1000 - 1)
    assert requests == {
        ("api", (("instance", "10.0.0.1:9100"),)): [[now / 1000, 10.0], [now / 1000 + 15, 12.5]]
    }
    cpu = await series_points(client, api_key, "cpu_pct", start=now / 1000 - 1)
    assert cpu == {("checkout", (("instance", "a:1"), ("job", "node"))): [[now / 1000, 42.0]]}


async def test_stale_markers_and_out_of_window_samples_are_dropped_and_counted(
    client: httpx.AsyncClient, api_key: str
) -> None:
    now = int(time.time() * 1000) - 1000
    ancient = now - 365 * 86_400_000
    body = write_body(
        [
            (
                {"__name__": "up", "job": "api"},
                [(ancient, 1.0), (now - 2000, 1.0), (now - 1000, STALE_NAN), (now, math.inf)],
            ),
            ({"__name__": "up", "job": "web"}, [(now, 0.0)]),
        ]
    )
    response = await client.post(WRITE, content=body, headers=HEADERS | bearer(api_key))
    assert response.status_code == 204
    assert response.headers["X-Failcast-Dropped"] == "3"
    assert response.headers["X-Failcast-Dropped-Reasons"] == "not_finite=2, out_of_window=1"
    assert response.headers["X-Failcast-Accepted"] == "2"
    points = await series_points(client, api_key, "up", start=now / 1000 - 10)
    assert points == {("api", ()): [[(now - 2000) / 1000, 1.0]], ("web", ()): [[now / 1000, 0.0]]}
    telemetry = (await client.get("/metrics")).text
    assert (
        'failcast_integration_dropped_samples_total{reason="not_finite",'
        'source="prometheus_remote_write"} 2.0'
    ) in telemetry
    assert (
        'failcast_integration_dropped_samples_total{reason="out_of_window",'
        'source="prometheus_remote_write"} 1.0'
    ) in telemetry


async def test_series_without_job_go_to_the_default_or_named_service(
    client: httpx.AsyncClient, api_key: str
) -> None:
    now = int(time.time() * 1000)
    body = write_body([({"__name__": "queue_depth"}, [(now, 3.0)])])
    assert (await client.post(WRITE, content=body, headers=bearer(api_key))).status_code == 204
    response = await client.post(
        WRITE, params={"service": "batch-jobs"}, content=body, headers=bearer(api_key)
    )
    assert response.status_code == 204
    points = await series_points(client, api_key, "queue_depth", start=now / 1000 - 1)
    assert set(points) == {("prometheus", ()), ("batch-jobs", ())}


async def test_authentication_and_scope(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    body = write_body([({"__name__": "up", "job": "x"}, [(int(time.time() * 1000), 1.0)])])
    assert (await client.post(WRITE, content=body)).status_code == 401
    wrong = await client.post(WRITE, content=body, headers=basic("fc_abc_wrong"))
    assert wrong.status_code == 401
    read_only = await create_api_key(client, account, ["read"])
    assert (await client.post(WRITE, content=body, headers=basic(read_only))).status_code == 403
    assert (await client.post(WRITE, content=body, headers=basic(api_key))).status_code == 204


async def test_a_body_that_is_not_snappy_protobuf_is_refused_with_4xx(
    client: httpx.AsyncClient, api_key: str
) -> None:
    # 4xx, not 5xx: Prometheus retries 5xx for ever, and this body will never get better.
    garbage = await client.post(WRITE, content=b"\x05hello", headers=bearer(api_key))
    assert garbage.status_code == 422
    assert "snappy" in garbage.json()["detail"][0]["msg"]
    bomb = b"\xff\xff\xff\xff\x0f" + b"\x00" * 10  # declares 4 GiB once decompressed
    assert (await client.post(WRITE, content=bomb, headers=bearer(api_key))).status_code == 413


async def test_a_write_larger_than_one_batch_is_stored_whole(
    client: httpx.AsyncClient, api_key: str
) -> None:
    # 12,000 samples: more than max_batch_samples, so stored in two transactions.
    now = int(time.time() * 1000) - 200_000
    series = [
        (
            {"__name__": "load", "job": "fleet", "instance": f"h{i}"},
            [(now + t * 1000, float(t)) for t in range(100)],
        )
        for i in range(120)
    ]
    response = await client.post(WRITE, content=write_body(series), headers=bearer(api_key))
    assert response.status_code == 204
    stats = (await client.get("/api/v1/stats", headers=bearer(api_key))).json()
    assert stats["samples"] == 12_000 and stats["series"] == 120


def test_a_label_set_is_mapped_anew_for_other_limits_or_another_default_service() -> None:
    now = int(time.time() * 1000)
    request = remote_pb2.WriteRequest()
    series = request.timeseries.add()
    for name, value in (("__name__", "up"), ("zone", "a" * 40)):
        series.labels.add(name=name, value=value)
    series.samples.add(timestamp=now, value=1.0)
    body = encode_write_request(request)
    roomy = IngestLimits(8, 64, 1000, now - 60_000, now + 60_000)
    strict = IngestLimits(8, 16, 1000, now - 60_000, now + 60_000)
    for _ in range(2):  # the second time, from the cache
        kept = body_samples(body, 1 << 20, roomy, "alpha")
        assert [(s.service, s.metric, s.labels) for s in kept.samples] == [
            ("alpha", "up", {"zone": "a" * 40})
        ]
        assert body_samples(body, 1 << 20, roomy, "beta").samples[0].service == "beta"
        refused = body_samples(body, 1 << 20, strict, "alpha")
        assert (len(refused), refused.dropped_total) == (0, 1)
