"""Dashboard pages refresh on their org's live events: an ingest through the API refreshes a
page of that org at once, whatever its timer; another org's ingest does not."""

from __future__ import annotations

import asyncio
import time

import httpx
from factories import register
from fastapi import FastAPI
from nicegui import ui
from nicegui.testing.user import User

from failcast.deps import services_of
from failcast.live.hub import org_topic
from failcast.ui.api import backend_for
from failcast.ui.live import follow


async def test_a_page_refreshes_on_its_orgs_events(
    user: User, api_app: FastAPI, api: httpx.AsyncClient
) -> None:
    account = await register(api, "live@example.com", org_name="Live")
    other = await register(api, "other@example.com", org_name="Other")
    refreshed: list[str] = []

    @ui.page("/live-probe")
    def probe() -> None:
        label = ui.label("refreshed 0 times")

        async def refresh() -> None:
            refreshed.append("refresh")
            label.text = f"refreshed {len(refreshed)} times"

        follow(backend_for(api_app).client(account.token), account.org_id, refresh)

    await user.open("/live-probe")
    hub = services_of(api_app).hub
    topic = org_topic(account.org_id)
    for _ in range(1000):  # the page's listener subscribes once the loop gets to it
        if hub.subscriber_count(topic):
            break
        await asyncio.sleep(0)
    assert hub.subscriber_count(topic) == 1

    sample = {"service": "api", "metric": "error_rate", "value": 0.01, "ts": time.time()}
    response = await api.post("/api/v1/metrics", json={"samples": [sample]}, headers=other.headers)
    assert response.status_code == 200, response.text
    assert refreshed == []  # published on another org's topic
    response = await api.post(
        "/api/v1/metrics", json={"samples": [sample]}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    # The first refresh comes from the ingest; the health change it causes may bring another.
    await user.should_see("refreshed 1 times", retries=100)
