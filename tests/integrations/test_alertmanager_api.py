"""Alerts from Prometheus: Alertmanager's API v2 at /api/v2/alerts, as Prometheus posts to it,
becomes Failcast alerts that resolve when the sender says so or stops re-sending; and from
Prometheus through Failcast on to a real Alertmanager."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import Account, LiveServer, bearer, free_port, serving_in_loop
from fastapi import FastAPI

from failcast.alerting.tasks import AlertingJob
from failcast.config import Settings
from failcast.deps import services_of

# The real Alertmanager lives with the notification tests; appended, so nothing is shadowed.
sys.path.append(str(Path(__file__).resolve().parent.parent / "notify"))
from receivers import ALERTMANAGER, alertmanager

__all__ = ["alertmanager"]  # fixtures

PROMETHEUS = Path("/usr/bin/prometheus")


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def _alerts(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/alerts", headers=account.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_posted_alerts_fire_refresh_and_resolve(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await services_of(app).runner.stop()
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical"},
        "annotations": {"summary": "p99 latency above 2 s"},
        "startsAt": _iso(now - timedelta(minutes=3)),
        "endsAt": _iso(now + timedelta(minutes=4)),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
    }
    response = await client.post("/api/v2/alerts", json=[alert], headers=bearer(api_key))
    assert response.status_code == 200, response.text
    [found] = await _alerts(client, account)
    assert (found["state"], found["severity"], found["service"]) == (
        "firing",
        "critical",
        "checkout",
    )
    assert found["title"] == "p99 latency above 2 s"
    assert found["labels"]["alertname"] == "HighLatency"
    # Re-sent: the same alert, not a second one.
    again = await client.post("/api/v2/alerts", json=[alert], headers=bearer(api_key))
    assert again.status_code == 200
    assert len(await _alerts(client, account)) == 1
    # The sender resolves it.
    done = {**alert, "endsAt": _iso(now - timedelta(seconds=1))}
    await client.post("/api/v2/alerts", json=[done], headers=bearer(api_key))
    [resolved] = await _alerts(client, account)
    assert resolved["state"] == "resolved"


async def test_an_alert_of_a_foreign_incident_type_is_recorded_with_a_type_named(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await services_of(app).runner.stop()
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": "Brownout", "service": "shop", "incident_type": "brownout"},
        "startsAt": _iso(now - timedelta(minutes=9)),
        "endsAt": _iso(now + timedelta(minutes=5)),
    }
    await client.post("/api/v2/alerts", json=[alert], headers=bearer(api_key))
    done = {**alert, "endsAt": _iso(now - timedelta(seconds=1))}
    await client.post("/api/v2/alerts", json=[done], headers=bearer(api_key))
    [resolved] = await _alerts(client, account)
    url = f"/api/v1/alerts/{resolved['id']}/incident"
    refused = await client.post(url, headers=account.headers)
    assert refused.status_code == 409, refused.text
    assert "('brownout') is not a type of incident" in refused.json()["detail"]
    named = await client.post(url, json={"type": "cascade"}, headers=account.headers)
    assert named.status_code == 200, named.text


async def test_an_alert_no_longer_sent_resolves_at_its_end_time(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await services_of(app).runner.stop()
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": "DiskFilling", "job": "node"},
        "endsAt": _iso(now + timedelta(minutes=2)),
    }
    await client.post("/api/v2/alerts", json=[alert], headers=bearer(api_key))
    job = AlertingJob(
        services_of(app).db, services_of(app).alert_signals, services_of(app).notifier
    )
    assert account.org_id in await job.orgs()
    await job.run_org(account.org_id, int((now + timedelta(minutes=1)).timestamp() * 1000))
    assert (await _alerts(client, account))[0]["state"] == "firing"
    await job.run_org(account.org_id, int((now + timedelta(minutes=3)).timestamp() * 1000))
    [expired] = await _alerts(client, account)
    assert expired["state"] == "resolved" and expired["service"] == "node"


async def test_bad_posts_are_refused(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    missing = await client.post(
        "/api/v2/alerts", json=[{"labels": {"severity": "warning"}}], headers=bearer(api_key)
    )
    assert missing.status_code == 422
    assert missing.json()["detail"][0] == {"index": 0, "field": "labels", "msg": "needs alertname"}
    assert (
        await client.post("/api/v2/alerts", json={"labels": {}}, headers=bearer(api_key))
    ).status_code == 422
    anonymous = await client.post("/api/v2/alerts", json=[])
    assert anonymous.status_code == 401


@contextmanager
def prometheus_alerting_to(tmp_path: Path, failcast_url: str, key: str) -> Iterator[None]:
    """Prometheus evaluating one always-firing rule and sending it to Failcast's /api/v2."""
    host = failcast_url.removeprefix("http://")
    rules = tmp_path / "rules.yml"
    rules.write_text(
        """
groups:
  - name: test
    interval: 1s
    rules:
      - alert: AlwaysOn
        expr: vector(1)
        labels: {service: checkout, severity: warning}
        annotations: {summary: "checkout is always on"}
"""
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""
global:
  evaluation_interval: 1s
rule_files: ["{rules}"]
alerting:
  alertmanagers:
    - api_version: v2
      basic_auth: {{username: prometheus, password: {key}}}
      static_configs:
        - targets: ["{host}"]
"""
    )
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{free_port()}",
            # Prometheus sends a new alert only after one resend delay (a minute by default).
            "--rules.alert.resend-delay=1s",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def prometheus_alerting(tmp_path: Path, live_server: LiveServer) -> Iterator[str]:
    """Prometheus sending its alerts to the live Failcast; yields the owner's token."""
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        token = http.post(
            "/api/v1/register",
            json={"email": "am@example.com", "password": "a long passphrase", "org_name": "AM"},
        ).json()["access_token"]
        key = http.post(
            "/api/v1/api-keys",
            json={"name": "prometheus", "scopes": ["ingest", "read"]},
            headers=bearer(token),
        ).json()["key"]
    with prometheus_alerting_to(tmp_path, live_server.url, key):
        yield token


@pytest.mark.slow
@pytest.mark.skipif(not PROMETHEUS.exists(), reason="needs Prometheus at /usr/bin/prometheus")
def test_prometheus_sends_its_alerts_to_failcast(
    live_server: LiveServer, prometheus_alerting: str
) -> None:
    deadline = time.monotonic() + 60
    found: list[dict[str, Any]] = []
    with httpx.Client(
        base_url=live_server.url, headers=bearer(prometheus_alerting), timeout=60
    ) as http:
        while time.monotonic() < deadline and not found:
            found = http.get("/api/v1/alerts").json()["items"]
            time.sleep(0.5)
    assert found, "Prometheus sent no alert"
    [alert] = found
    assert alert["labels"]["alertname"] == "AlwaysOn"
    assert (alert["service"], alert["state"], alert["title"]) == (
        "checkout",
        "firing",
        "checkout is always on",
    )


@pytest.mark.slow
@pytest.mark.skipif(not PROMETHEUS.exists(), reason="needs Prometheus at /usr/bin/prometheus")
@pytest.mark.skipif(ALERTMANAGER is None, reason="needs Debian's prometheus-alertmanager")
async def test_prometheus_alerts_reach_alertmanager_through_failcast(
    settings: Settings, tmp_path: Path, alertmanager: str
) -> None:
    """Prometheus alerts Failcast, whose alertmanager channel pushes the alert on to a real
    Alertmanager, where its v2 API shows it."""
    async with (
        serving_in_loop(settings) as (url, app),
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        await services_of(app).runner.stop()
        token = (
            await http.post(
                "/api/v1/register",
                json={"email": "rt@example.com", "password": "a long passphrase", "org_name": "RT"},
            )
        ).json()["access_token"]
        owner = bearer(token)
        key = (
            await http.post(
                "/api/v1/api-keys", json={"name": "prometheus", "scopes": ["ingest"]}, headers=owner
            )
        ).json()["key"]
        channel = await http.post(
            "/api/v1/channels",
            json={"name": "am", "kind": "alertmanager", "config": {"urls": [alertmanager]}},
            headers=owner,
        )
        assert channel.status_code == 201, channel.text
        with prometheus_alerting_to(tmp_path, url, key):
            deadline = time.monotonic() + 60
            found: list[dict[str, Any]] = []
            while not found and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                found = (await http.get("/api/v1/alerts", headers=owner)).json()["items"]
        assert found, "Prometheus sent no alert"
        # The default route waits 30 s after an alert fires before its first notification.
        await services_of(app).notifier.flush(datetime.now(UTC) + timedelta(seconds=31))
    async with httpx.AsyncClient(timeout=60) as plain:
        [pushed] = (await plain.get(f"{alertmanager}/api/v2/alerts")).json()
    assert pushed["labels"]["alertname"] == "AlwaysOn"
    assert pushed["labels"]["service"] == "checkout"
    assert pushed["annotations"]["summary"] == "checkout is always on"
    assert pushed["annotations"]["explanation"].endswith(f"/api/v1/alerts/{found[0]['id']}")
    assert pushed["status"]["state"] == "active"
