"""The shipped Grafana dashboard and Prometheus rules work on Failcast: every panel's query,
sent as Grafana sends it, returns data; the exporter serves every result; the rules load."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from factories import Account, bearer
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from failcast.deps import services_of
from failcast.detect.service import LiveScoring
from failcast.models import FailurePrediction, ModelVersion, Service

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "failcast.json"
RULES = ROOT / "deploy" / "prometheus" / "failcast-rules.yml"
MINUTE = 60
POINTS = 240


@pytest.fixture(autouse=True)
async def no_timers(app: FastAPI) -> None:
    await services_of(app).runner.stop()


async def _fleet(
    app: FastAPI, client: httpx.AsyncClient, account: Account, key: str, now: int
) -> None:
    """Four hours of two services' telemetry, scored, with an SLO, a limit and predictions."""
    rng = np.random.default_rng(1)
    samples: list[dict[str, Any]] = []
    for service in ("checkout", "search"):
        for i in range(POINTS):
            ts = now - (POINTS - i) * MINUTE
            values = {
                "latency_p99_ms": 120 + rng.normal(0, 5),
                "error_rate": max(0.0, 0.01 + rng.normal(0, 0.002)),
                "cpu_pct": 40 + 0.15 * i + rng.normal(0, 1),  # rising towards its limit
                "http_requests_total": 30.0 * i,
            }
            samples += [
                {"service": service, "metric": m, "ts": ts, "value": float(v)}
                for m, v in values.items()
            ]
    for start in range(0, len(samples), 5000):
        response = await client.post(
            "/api/v1/metrics", json={"samples": samples[start : start + 5000]}, headers=bearer(key)
        )
        assert response.status_code == 200, response.text
    await LiveScoring(services_of(app).db).run_org(account.org_id, now * 1000)
    slo = {
        "name": "availability",
        "service": "checkout",
        "objective": 0.99,
        "sli": {"type": "ratio", "ratio": {"query": "error_rate"}},
    }
    response = await client.post("/api/v1/slos", json=slo, headers=account.headers)
    assert response.status_code == 201, response.text
    rule = {"kind": "threshold", "name": "cpu-high", "metric": "cpu_pct", "op": ">", "value": 95}
    response = await client.post("/api/v1/alert-rules", json=rule, headers=account.headers)
    assert response.status_code == 201, response.text
    async with services_of(app).db.session() as session:
        rows = await session.execute(
            select(Service.name, Service.id).where(Service.org_id == account.org_id)
        )
        services = {name: service_id for name, service_id in rows}
        model = ModelVersion(
            org_id=account.org_id,
            version=1,
            status="active",
            source="imported",
            features=[],
            horizons=[24],
            train_start=datetime.now(UTC),
            train_end=datetime.now(UTC),
            metrics={},
            meta={},
            artifact=b"",
        )
        session.add(model)
        await session.flush()
        for service, base in (("checkout", 0.1), ("search", 0.02)):
            for k in range(12):
                session.add(
                    FailurePrediction(
                        org_id=account.org_id,
                        service_id=services[service],
                        model_version_id=model.id,
                        ts=datetime.fromtimestamp(now - (12 - k) * 15 * MINUTE, UTC),
                        horizon_h=24,
                        probability=base + 0.01 * k,
                        alarm=False,
                        incident_type="unknown",
                        confidence=0.5,
                        risk_level="low",
                        factors=[],
                        root_cause=None,
                    )
                )
        await session.commit()


async def test_every_dashboard_panel_has_data_through_the_query_api(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    # Now, not at import: the results' current values belong to the present.
    now = int(time.time()) // 60 * 60
    await _fleet(app, client, account, api_key, now)
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len(panels) >= 8
    for panel in panels:
        for target in panel["targets"]:
            # Grafana's request: a form post, seconds, a step from the panel's width.
            response = await client.post(
                "/prometheus/api/v1/query_range",
                data={
                    "query": target["expr"],
                    "start": str(now - 3 * 3600),
                    "end": str(now),
                    "step": "60",
                },
                headers=bearer(api_key),
            )
            assert response.status_code == 200, (panel["title"], response.text)
            result = response.json()["data"]["result"]
            assert result, f"panel {panel['title']!r} has no data: {target['expr']}"
            assert any(series["values"] for series in result), panel["title"]


async def test_the_exporter_serves_every_result(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await _fleet(app, client, account, api_key, int(time.time()) // 60 * 60)
    text = (await client.get("/api/v1/prometheus/metrics", headers=bearer(api_key))).text
    found: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(dict(sample.labels))
    for name in (
        "failcast_incident_probability",
        "failcast_anomaly_score",
        "failcast_change_score",
        "failcast_health_score",
        "failcast_slo_burn_rate",
        "failcast_error_budget_remaining",
        "failcast_time_to_breach_seconds",
    ):
        assert name in found, f"{name} is not exported"
    assert {"service": "checkout", "horizon": "24h"} in found["failcast_incident_probability"]
    assert {"service": "checkout", "slo": "availability", "window": "1h"} in found[
        "failcast_slo_burn_rate"
    ]
    assert {"service": "search", "metric": "cpu_pct"} in found["failcast_time_to_breach_seconds"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs Prometheus' promtool")
def test_the_shipped_alerting_rules_load_in_prometheus() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
