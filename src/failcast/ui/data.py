"""Fetches shared by several pages: each one API call, shaped by `logic`.

Every list the dashboard shows comes from one list endpoint (health, predictions, alerts of the
whole org at once), never from one call per service, so a refresh costs the same few requests
with 5 services or 500.
"""

from __future__ import annotations

import time
from typing import Any

from failcast.ui.api import ApiClient
from failcast.ui.logic import alerting, failure_risk

OPEN_STATES = ["pending", "firing", "acknowledged"]


async def services(api: ApiClient) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await api.get("/api/v1/services")
    return result


async def metric(
    api: ApiClient,
    name: str,
    *,
    service: str | None = None,
    window_s: float,
    step_s: int | None = None,
    agg: str = "avg",
    now: float | None = None,
) -> dict[str, Any]:
    """One metric over the last `window_s` seconds, optionally bucketed."""
    end = time.time() if now is None else now
    params: dict[str, Any] = {
        "metric": name,
        "service": service,
        "start": f"{end - window_s:.0f}",
        "end": f"{end:.0f}",
        "step": f"{step_s}s" if step_s else None,
        "agg": agg if step_s else None,
    }
    result: dict[str, Any] = await api.get("/api/v1/metrics", params)
    return result


async def health(api: ApiClient) -> dict[str, Any]:
    """The org's health: score, explanation, executive summary and every service's score."""
    result: dict[str, Any] = await api.get("/api/v1/health")
    return result


async def predictions(api: ApiClient, service: str | None = None) -> list[failure_risk.Prediction]:
    """The newest prediction round of every service (or of one)."""
    return failure_risk.parse_predictions(
        await api.get("/api/v1/predictions", {"service": service})
    )


async def alerts(
    api: ApiClient,
    states: list[str] | None = None,
    *,
    service: str | None = None,
    severity: list[str] | None = None,
    text: str | None = None,
    limit: int = 100,
) -> list[alerting.AlertRow]:
    params: dict[str, Any] = {
        "state": states,
        "service": service,
        "severity": severity,
        "text": text or None,
        "limit": limit,
    }
    return alerting.parse_alerts(await api.get("/api/v1/alerts", params))


async def playbooks(api: ApiClient) -> dict[str, list[str]]:
    """Mitigation steps per incident type: what a prediction of that type recommends."""
    answer = await api.get("/api/v1/playbooks")
    return {str(p["incident_type"]): [str(s) for s in p["steps"]] for p in answer}
