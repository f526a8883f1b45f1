"""Builders shared by the integration tests."""

from __future__ import annotations

from typing import Any

import httpx
from factories import bearer

from failcast.integrations.remote_write import encode_write_request
from failcast.proto import remote_pb2


def write_body(series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> bytes:
    """A snappy remote write body with one TimeSeries per (labels, [(ts_ms, value)])."""
    request = remote_pb2.WriteRequest()
    for labels, points in series:
        ts = request.timeseries.add()
        for name, value in sorted(labels.items()):
            ts.labels.add(name=name, value=value)
        for ms, value in points:
            ts.samples.add(timestamp=ms, value=value)
    return encode_write_request(request)


async def series_points(
    client: httpx.AsyncClient, key: str, metric: str, **params: Any
) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[list[float]]]:
    """{(service, sorted labels): [[unix_seconds, value], ...]} of one metric's raw samples."""
    response = await client.get(
        "/api/v1/metrics", params={"metric": metric, **params}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    return {
        (s["service"], tuple(sorted(s["labels"].items()))): s["points"]
        for s in response.json()["series"]
    }
