"""A real org's changes on its live stream: ingests, health, new alerts, alert state changes and
predictions reach a WebSocket client, in one process and across processes over Redis."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from factories import (
    PASSWORD,
    Account,
    Mailbox,
    add_member,
    mail_to,
    serving_in_loop,
    smtp_server,
)
from fastapi import FastAPI
from sqlalchemy import select

from failcast.config import Settings
from failcast.deps import services_of
from failcast.models import FailurePrediction, ModelVersion, Service

# The Redis fixtures live with the scale-out tests; appended, so nothing is shadowed.
sys.path.append(str(Path(__file__).resolve().parent.parent / "scaleout"))
from scaleout_env import redis_prefix, redis_url

__all__ = ["redis_prefix", "redis_url", "smtp_server"]  # fixtures

Message = dict[str, Any]
# Only a guard against a hang: every awaited message is expected at once.
GUARD_S = 30


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def sign_up(http: httpx.AsyncClient, email: str) -> tuple[str, str, int]:
    """An owner's access token, an API key that ingests, and the org id."""
    response = await http.post(
        "/api/v1/register", json={"email": email, "password": PASSWORD, "org_name": email}
    )
    body = response.json()
    token = body["access_token"]
    response = await http.post(
        "/api/v1/api-keys",
        json={"name": "agent", "scopes": ["ingest", "read"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    return token, response.json()["key"], int(body["org"]["id"])


class Stream:
    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket
        self.kept: list[Message] = []

    async def next(self, wanted: Callable[[Message], bool] = lambda m: True) -> Message:
        """The first message that `wanted` accepts (the others are skipped)."""
        while True:
            message: Message = json.loads(await asyncio.wait_for(self.socket.recv(), GUARD_S))
            if wanted(message):
                return message

    async def next_kept(self, wanted: Callable[[Message], bool]) -> Message:
        """The first message that `wanted` accepts; the others are kept for later calls, so
        messages of different kinds may arrive in any order between them."""
        for position, message in enumerate(self.kept):
            if wanted(message):
                return self.kept.pop(position)
        while True:
            received: Message = json.loads(await asyncio.wait_for(self.socket.recv(), GUARD_S))
            if wanted(received):
                return received
            self.kept.append(received)


async def ingest(http: httpx.AsyncClient, key: str, now: datetime) -> None:
    samples = [
        {"service": "checkout", "metric": "error_rate", "ts": _iso(now - timedelta(seconds=s)),
         "value": 0.4}
        for s in (0, 30, 60)
    ]  # fmt: skip
    response = await http.post(
        "/api/v1/metrics", json={"samples": samples}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text


async def post_alert(http: httpx.AsyncClient, key: str, ends: datetime) -> None:
    alert = {
        "labels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "critical"},
        "annotations": {"summary": "checkout fails 40% of requests"},
        "endsAt": _iso(ends),
    }
    response = await http.post(
        "/api/v2/alerts", json=[alert], headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text


async def follow_an_org(writer: tuple[str, FastAPI], reader: tuple[str, FastAPI]) -> None:
    """Changes made through the `writer` server reach a stream opened on the `reader`."""
    async with httpx.AsyncClient(base_url=writer[0], timeout=60) as http:
        token, key, org_id = await sign_up(http, f"live-{time.monotonic_ns()}@example.com")
        _, other_key, other_org = await sign_up(http, f"other-{time.monotonic_ns()}@example.com")
        ws_url = reader[0].replace("http://", "ws://") + f"/api/v1/stream?token={token}"
        async with websockets.connect(ws_url) as socket:
            stream = Stream(socket)
            assert await stream.next() == {"type": "hello", "org_id": org_id}
            now = datetime.now(UTC)
            await ingest(http, key, now)
            counted = await stream.next(lambda m: m["type"] == "ingest")
            assert counted == {"type": "ingest", "org_id": org_id, "samples": 3, "logs": 0}
            health = await stream.next(lambda m: m["type"] == "health")
            [checkout] = health["services"]
            assert checkout["service"] == "checkout" and checkout["status"] == "critical"

            await post_alert(http, key, now + timedelta(minutes=5))
            new = await stream.next(lambda m: m["type"] == "alert")
            assert new["event"] == "new" and new["org_id"] == org_id
            assert new["alert"]["state"] == "firing" and new["alert"]["service"] == "checkout"
            alert_id = new["alert"]["id"]
            acked = await http.post(
                f"/api/v1/alerts/{alert_id}/ack", headers={"Authorization": f"Bearer {token}"}
            )
            assert acked.status_code == 200, acked.text
            change = await stream.next(lambda m: m["type"] == "alert")
            assert change["event"] == "state" and change["alert"]["id"] == alert_id
            states = (change["alert"]["previous_state"], change["alert"]["state"])
            assert states == ("firing", "acknowledged")
            await post_alert(http, key, datetime.now(UTC) - timedelta(seconds=1))
            resolved = await stream.next(lambda m: m["type"] == "alert")
            states = (resolved["alert"]["previous_state"], resolved["alert"]["state"])
            assert states == ("acknowledged", "resolved")

            # Another org's changes are not heard here: the next message is this org's own.
            await ingest(http, other_key, now)
            await store_predictions(writer[1], other_org)
            await store_predictions(writer[1], org_id)
            predicted = await stream.next(lambda m: m["type"] != "health")
            assert predicted["type"] == "predictions" and predicted["org_id"] == org_id
            assert predicted["count"] == 3  # the shadow model's are not announced
            assert {i["horizon_h"] for i in predicted["items"]} == {24, 48, 72}


async def store_predictions(
    app: FastAPI, org_id: int, name: str = "checkout", version: int = 1
) -> None:
    """Predictions of the active and of a shadow model, written as the prediction job does."""
    now = datetime.now(UTC)
    async with services_of(app).db.session() as session:
        service = await session.scalar(
            select(Service.id).where(Service.org_id == org_id, Service.name == name)
        )
        assert service is not None
        model = ModelVersion(
            org_id=org_id,
            version=version,
            source="imported",
            features=[],
            horizons=[24, 48, 72],
            train_start=now,
            train_end=now,
            metrics={},
            meta={},
            artifact=b"",
        )
        session.add(model)
        await session.flush()
        for shadow in (False, True):
            for horizon in (24, 48, 72):
                session.add(
                    FailurePrediction(
                        org_id=org_id,
                        service_id=service,
                        model_version_id=model.id,
                        shadow=shadow,
                        ts=now,
                        horizon_h=horizon,
                        probability=0.2,
                        alarm=False,
                        incident_type="error_spike",
                        confidence=0.5,
                        risk_level="low",
                        factors=[],
                        root_cause=None,
                    )
                )
        await session.commit()


async def test_an_org_hears_its_own_changes_in_one_process(settings: Settings) -> None:
    async with serving_in_loop(settings) as server:
        await follow_an_org(server, server)


@pytest.fixture
def redis_settings(settings: Settings, redis_url: str, redis_prefix: str) -> Settings:
    return settings.model_copy(update={"redis_url": redis_url, "redis_prefix": redis_prefix})


async def test_changes_on_one_replica_reach_a_stream_on_another(
    redis_settings: Settings,
) -> None:
    async with serving_in_loop(redis_settings) as one, serving_in_loop(redis_settings) as two:
        await follow_an_org(one, two)


async def test_a_restricted_member_hears_only_their_teams_services(
    settings: Settings, smtp_server: Mailbox
) -> None:
    async with (
        serving_in_loop(mail_to(settings, smtp_server)) as (url, app),
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        token, key, org_id = await sign_up(http, f"owner-{time.monotonic_ns()}@example.com")
        owner = Account(0, org_id, "owner", token)
        member = await add_member(http, app, smtp_server, owner, "dev@example.com", "member")
        for name, team in (("checkout", "payments"), ("search", "discovery")):
            response = await http.post(
                "/api/v1/services", json={"name": name}, headers=owner.headers
            )
            assert response.status_code == 201, response.text
            response = await http.post(
                "/api/v1/teams", json={"name": team, "services": [name]}, headers=owner.headers
            )
            assert response.status_code == 201, response.text
            if team == "payments":
                path = f"/api/v1/teams/{response.json()['id']}/members/{member.user_id}"
                assert (await http.put(path, headers=owner.headers)).status_code == 200
        response = await http.put(
            "/api/v1/team-settings",
            json={"restrict_members_to_teams": True},
            headers=owner.headers,
        )
        assert response.status_code == 200, response.text
        ws_url = url.replace("http://", "ws://") + "/api/v1/stream?token="
        async with (
            websockets.connect(ws_url + member.token) as member_socket,
            websockets.connect(ws_url + owner.token) as owner_socket,
        ):
            mine, everything = Stream(member_socket), Stream(owner_socket)
            for stream in (mine, everything):
                assert (await stream.next())["type"] == "hello"
            now = datetime.now(UTC)
            samples = [
                {"service": name, "metric": "error_rate", "ts": _iso(now), "value": 0.4}
                for name in ("search", "checkout")
            ]
            response = await http.post(
                "/api/v1/metrics",
                json={"samples": samples},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert response.status_code == 200, response.text
            ends = now + timedelta(minutes=5)
            for name in ("search", "checkout"):
                alert = {
                    "labels": {"alertname": "Errors", "service": name},
                    "endsAt": _iso(ends),
                }
                response = await http.post(
                    "/api/v2/alerts", json=[alert], headers={"Authorization": f"Bearer {key}"}
                )
                assert response.status_code == 200, response.text
            await store_predictions(app, org_id, "search")
            await store_predictions(app, org_id, "checkout", version=2)

            def kinds(wanted: str) -> Callable[[Message], bool]:
                return lambda m: m["type"] == wanted

            # Health is computed in the background after the ingest, so it may come before or
            # after the alerts: each kind is checked in its own order.
            health = await everything.next_kept(kinds("health"))
            assert {s["service"] for s in health["services"]} == {"checkout", "search"}
            health = await mine.next_kept(kinds("health"))
            assert {s["service"] for s in health["services"]} == {"checkout"}
            # The search alert came first: the member's first alert is the checkout one.
            assert (await everything.next_kept(kinds("alert")))["alert"]["service"] == "search"
            assert (await mine.next_kept(kinds("alert")))["alert"]["service"] == "checkout"
            first = await everything.next_kept(kinds("predictions"))
            second = await everything.next_kept(kinds("predictions"))
            ids = {first["items"][0]["service_id"], second["items"][0]["service_id"]}
            assert len(ids) == 2
            predicted = await mine.next_kept(kinds("predictions"))
            assert predicted["items"][0]["service_id"] == second["items"][0]["service_id"]
            assert predicted["count"] == 3
