"""`failcast up --demo`: a working sign-in, the fleet on, and history behind it."""

from __future__ import annotations

import re

import httpx
import pytest
from factories import started

from failcast.app import create_app
from failcast.config import Settings
from failcast.deps import services_of


async def start_demo(settings: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    demo = settings.model_copy(
        update={"demo": True, "demo_history_days": 0.05, "demo_training_days": 0}
    )
    app = create_app(demo)
    async with started(app):
        await services_of(app).runner.drain()
        banner = capsys.readouterr().err
        match = re.search(r"sign in as\s+(\S+) / (\S+)", banner)
        assert match, banner
        email, password = match.groups()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            login = await client.post("/api/v1/login", json={"email": email, "password": password})
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            fleet = (await client.get("/api/v1/chaos/fleet", headers=headers)).json()
            stats = (await client.get("/api/v1/stats", headers=headers)).json()
            rules = (await client.get("/api/v1/alert-rules", headers=headers)).json()
            slos = (await client.get("/api/v1/slos", headers=headers)).json()
            channels = (await client.get("/api/v1/channels", headers=headers)).json()
    assert fleet["enabled"] is True
    # The demo can raise alerts from its first minute, and shows where they would go.
    assert {"high error rate", "slow responses", "SLO budget burning fast"} <= {
        r["name"] for r in rules
    }
    assert "api-gateway-latency" in {s["name"] for s in slos}
    assert [c["name"] for c in channels] == ["owners-email"]
    series = sum(len(s["metrics"]) for s in fleet["services"])
    # 0.05 days at a five-minute step is 14 points per series.
    assert stats["samples"] == series * 14
    return email, password


async def test_demo_prepares_a_fleet_with_history_and_a_fresh_password(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    email, first = await start_demo(settings, capsys)
    assert email == "demo@example.com"
    # A second start sets a new password and does not ingest the history again.
    _, second = await start_demo(settings, capsys)
    assert second != first
