"""What the store announces: only committed changes, merged per transaction, and cut down to
what a restricted member may see."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from factories import Account
from fastapi import FastAPI

from failcast.deps import services_of
from failcast.live.events import merge, scoped
from failcast.live.hub import org_topic
from failcast.models import Alert
from failcast.teams.service import EVERYTHING, Visibility


def test_a_transactions_ingests_and_predictions_are_merged_per_org() -> None:
    prediction = {"ts": "2026-01-01T00:00:00+00:00", "horizon_h": 24}
    merged = merge(
        [
            (1, {"type": "ingest", "samples": 3}),
            (1, {"type": "alert", "event": "new"}),
            (1, {"type": "ingest", "logs": 2}),
            (2, {"type": "ingest", "samples": 1}),
            (1, {"type": "prediction", "item": prediction}),
            (1, {"type": "prediction", "item": prediction | {"horizon_h": 48}}),
        ]
    )
    assert merged == [
        (1, {"type": "ingest", "samples": 3, "logs": 2}),
        (1, {"type": "alert", "event": "new"}),
        (2, {"type": "ingest", "samples": 1, "logs": 0}),
        (
            1,
            {
                "type": "predictions",
                "count": 2,
                "ts": prediction["ts"],
                "items": [prediction, prediction | {"horizon_h": 48}],
            },
        ),
    ]


def _alert(org_id: int, title: str) -> Alert:
    now = datetime.now(UTC)
    return Alert(
        org_id=org_id,
        fingerprint=title,
        state="firing",
        severity="warning",
        service="checkout",
        title=title,
        labels={"alertname": title},
        context={},
        started_at=now,
        fired_at=now,
    )


def test_a_restricted_member_is_sent_only_their_teams_services() -> None:
    seen = Visibility(frozenset({"checkout"}), frozenset({1}))
    tick = {
        "type": "tick",
        "ts": 1.0,
        "values": {"checkout": {"error_rate": 0.1}, "search": {"error_rate": 0.9}},
        "active_faults": [{"target": "search", "kind": "latency"}],
    }
    assert scoped(tick, seen) == tick | {
        "values": {"checkout": {"error_rate": 0.1}},
        "active_faults": [],
    }
    health = {"type": "health", "ts": 1, "services": [{"service": "search", "score": 40.0}]}
    assert scoped(health, seen) is None
    items = [{"service_id": i, "ts": f"2026-01-0{i}T00:00:00+00:00"} for i in (1, 2)]
    predictions = {"type": "predictions", "count": 2, "ts": items[1]["ts"], "items": items}
    assert scoped(predictions, seen) == {
        "type": "predictions",
        "count": 1,
        "ts": items[0]["ts"],
        "items": items[:1],
    }
    assert scoped({"type": "alert", "alert": {"service": None}}, seen) is None
    assert scoped({"type": "ingest", "samples": 3}, seen) == {"type": "ingest", "samples": 3}
    assert scoped({"type": "something new"}, seen) is None
    assert scoped(health, EVERYTHING) is health


async def test_rolled_back_changes_are_not_announced(app: FastAPI, account: Account) -> None:
    async with services_of(app).hub.subscribe(org_topic(account.org_id)) as subscription:
        async with services_of(app).db.session() as session:
            session.add(_alert(account.org_id, "rolled-back"))
            await session.flush()
            await session.rollback()
            session.add(_alert(account.org_id, "kept"))
            await session.commit()
        message = await asyncio.wait_for(subscription.get(), 30)
    assert message["type"] == "alert" and message["alert"]["title"] == "kept"
    assert subscription.queue.empty()
