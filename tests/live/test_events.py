"""What the store announces: only committed changes, merged per transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from factories import Account
from fastapi import FastAPI

from failcast.live.events import merge
from failcast.live.hub import org_topic
from failcast.models import Alert


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


async def test_rolled_back_changes_are_not_announced(app: FastAPI, account: Account) -> None:
    async with app.state.hub.subscribe(org_topic(account.org_id)) as subscription:
        async with app.state.db.session() as session:
            session.add(_alert(account.org_id, "rolled-back"))
            await session.flush()
            await session.rollback()
            session.add(_alert(account.org_id, "kept"))
            await session.commit()
        message = await asyncio.wait_for(subscription.get(), 30)
    assert message["type"] == "alert" and message["alert"]["title"] == "kept"
    assert subscription.queue.empty()
