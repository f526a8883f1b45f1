"""`failcast train --server` trains through the API and reports how the job ended."""

from __future__ import annotations

import time

import httpx
from factories import LiveServer, bearer
from typer.testing import CliRunner

from failcast.cli import app


def test_a_refused_training_exits_with_its_reason_and_advice(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        registered = http.post(
            "/api/v1/register",
            json={"email": "ml@example.com", "password": "a long passphrase", "org_name": "ML"},
        ).json()
        headers = bearer(registered["access_token"])
        key = http.post(
            "/api/v1/api-keys", json={"name": "ops", "scopes": ["read", "admin"]}, headers=headers
        ).json()["key"]
        sample = {"service": "api", "metric": "latency_p99_ms", "ts": time.time(), "value": 90.0}
        sent = http.post("/api/v1/metrics", json={"samples": [sample]}, headers=headers)
        assert sent.status_code == 200, sent.text

    result = CliRunner().invoke(
        app, ["train", "--server", "--url", live_server.url, "--api-key", key]
    )
    assert result.exit_code == 1, result.output
    assert "failed: no incidents recorded in the last 60 days" in result.output
    assert "mark resolved alerts as incidents" in result.output
