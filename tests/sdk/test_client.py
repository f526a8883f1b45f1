from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from _servers import live_key, scripted_server, stored
from factories import LiveServer
from failcast_sdk import (
    AuthenticationError,
    Client,
    RequestRejected,
    Retry,
    ServerError,
    TransportError,
)

FAST = Retry(attempts=4, backoff=0.001, max_backoff=0.01)


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class Recording(httpx.BaseTransport):
    """Forwards to the real server; records the size of every batch and can hold sends."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sizes: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import json

        self.gate.wait(30)
        body = json.loads(request.read())
        self.sizes.append(len(body.get("samples") or body.get("predictions") or body["labels"]))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_batches_are_sent_at_batch_size_and_the_rest_on_close(live_server: LiveServer) -> None:
    key = live_key(live_server.url)
    transport = Recording()
    client = Client(live_server.url, key, batch_size=10, flush_interval=60, transport=transport)
    with client:
        now = time.time() - 100
        for i in range(9):
            client.log_metric("api", "requests", float(i), ts=now + i)
        assert client.pending == 9 and transport.sizes == []
        client.log_metric("api", "requests", 9.0, ts=now + 9)
        wait_until(lambda: client.stats.sent == 10)
        assert transport.sizes == [10]
        for i in range(10, 13):
            client.log_metric("api", "requests", float(i), ts=now + i)
    assert transport.sizes == [10, 3]
    assert client.stats.sent == 13 and client.stats.failed == 0
    assert stored(live_server.url, key, "requests", "api") == [float(i) for i in range(13)]


def test_a_partial_batch_goes_out_after_the_flush_interval(live_server: LiveServer) -> None:
    key = live_key(live_server.url)
    with Client(live_server.url, key, batch_size=100, flush_interval=0.05) as client:
        client.log_metric("api", "errors", 1.0, labels={"code": "500"})
        wait_until(lambda: client.stats.sent == 1)
        assert client.pending == 0
    assert stored(live_server.url, key, "errors", "api") == [1.0]


def test_a_full_buffer_drops_and_counts(live_server: LiveServer) -> None:
    key = live_key(live_server.url)
    transport = Recording()
    transport.gate.clear()  # the first batch is held on its way to the server
    client = Client(
        live_server.url, key, batch_size=5, max_buffer=5, flush_interval=60, transport=transport
    )
    now = time.time() - 100
    for i in range(5):
        client.log_metric("api", "q", float(i), ts=now + i)
    wait_until(lambda: client.pending == 0)  # taken by the sender, which now waits
    for i in range(5, 13):
        client.log_metric("api", "q", float(i), ts=now + i)
    assert client.pending == 5
    assert client.stats.dropped == 3
    transport.gate.set()
    client.close()
    assert client.stats.sent == 10
    assert stored(live_server.url, key, "q", "api") == [float(i) for i in range(10)]


def test_5xx_is_retried_until_it_succeeds() -> None:
    with scripted_server([500, 500, 200]) as server:
        with Client(server.url, "fc_a_b", retry=FAST) as client:
            client.log_metric("api", "x", 1.0, ts=1e9)
            client.flush()
        assert len(server.bodies) == 3
        assert server.bodies[0] == server.bodies[2]
        assert client.stats.sent == 1 and client.stats.failed == 0


def test_429_honours_retry_after() -> None:
    with scripted_server([429, 200], {"Retry-After": "0"}) as server:
        client = Client(server.url, "fc_a_b", retry=Retry(attempts=2, backoff=60))
        client.log_metric("api", "x", 1.0)
        started = time.monotonic()
        client.close()
        # The 60 s backoff was replaced by the server's "retry after 0 s".
        assert time.monotonic() - started < 10
        assert len(server.bodies) == 2 and client.stats.sent == 1


def test_exhausted_retries_and_refusals_are_raised_and_counted() -> None:
    with scripted_server([503]) as server:
        client = Client(server.url, "fc_a_b", retry=FAST)
        client.log_metric("api", "x", 1.0)
        client.log_metric("api", "x", 2.0)
        with pytest.raises(ServerError) as caught:
            client.flush()
        assert caught.value.status_code == 503
        assert len(server.bodies) == FAST.attempts
        assert client.stats.failed == 2
        client.close()
    for status, error in ((422, RequestRejected), (401, AuthenticationError)):
        with scripted_server([status]) as server:
            client = Client(server.url, "fc_a_b", retry=FAST)
            client.log_metric("api", "x", 1.0)
            with pytest.raises(error):
                client.close()
            assert len(server.bodies) == 1  # never retried


def test_network_errors_are_retried_then_raised() -> None:
    client = Client("http://127.0.0.1:1", "fc_a_b", retry=FAST)
    client.log_metric("api", "x", 1.0)
    with pytest.raises(TransportError):
        client.flush()
    assert client.stats.failed == 1
    client.close()
