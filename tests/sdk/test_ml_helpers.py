from __future__ import annotations

import time

import httpx
import pytest
from _servers import TIMEOUT_S, live_key, stored
from factories import LiveServer, bearer
from failcast_sdk import Client


def test_monitor_logs_latency_predictions_and_labels_join_into_accuracy(
    live_server: LiveServer,
) -> None:
    key = live_key(live_server.url)
    with Client(live_server.url, key, flush_interval=60) as client:
        model = client.monitor_model("fraud")

        @model
        def score(amount: float) -> float:
            return 0.9 if amount > 100 else 0.1

        assert score(500) == 0.9
        assert score(5) == 0.1
        with model:
            model.log_prediction("t1", {"amount": 500}, 0.9)
            model.log_prediction("t2", {"amount": 5}, 0.1)
            model.log_prediction("t3", {"amount": 50}, 0.7)
        client.flush()
        # Ground truth comes later: t1 fraud (right), t2 fine (right), t3 fine (wrong).
        model.log_label("t1", 1)
        model.log_label("t2", 0)
        model.log_label("t3", 0)
    assert client.stats.failed == 0
    assert stored(live_server.url, key, "accuracy", "fraud") == [pytest.approx(2 / 3)]
    predictions = stored(live_server.url, key, "prediction", "fraud")
    assert sorted(predictions) == [0.1, 0.1, 0.7, 0.9, 0.9]
    latencies = stored(live_server.url, key, "latency_ms", "fraud")
    assert len(latencies) == 3 and all(0 <= v < 1000 for v in latencies)
    p99 = stored(live_server.url, key, "latency_p99_ms", "fraud")
    assert len(p99) == 3 and p99[-1] == max(latencies)
    with httpx.Client(base_url=live_server.url, headers=bearer(key), timeout=TIMEOUT_S) as http:
        kinds = {s["name"]: s["kind"] for s in http.get("/api/v1/services").json()}
    assert kinds == {"fraud": "ml_model"}


def test_monitor_works_on_coroutines(live_server: LiveServer) -> None:
    import asyncio

    key = live_key(live_server.url)
    with Client(live_server.url, key) as client:

        @client.monitor_model("ranker")
        async def rank() -> float:
            return 3.5

        assert asyncio.run(rank()) == 3.5
        assert time.time() > 0
    assert stored(live_server.url, key, "prediction", "ranker") == [3.5]
