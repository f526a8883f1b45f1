"""The promotion gate: no model without skill, or worse than the one it replaces, goes live
unless someone forces it and says why."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from _predict_synthetic import tiny_model, without_skill
from factories import Account
from fastapi import FastAPI

from failcast.deps import services_of
from failcast.predict import gate, registry
from failcast.predict.training import TrainResult


def figures(auc: float, brier: float, f1: float, positives: int = 50, rows: int = 1000) -> dict:
    return {"auc_pr": auc, "brier": brier, "f1": f1, "positives": positives, "rows": rows}


def test_a_model_with_skill_passes_and_one_without_fails() -> None:
    # Base rate 0.05: climatology's Brier score is 0.0475.
    good = gate.judge({"test": {"24h": figures(0.40, 0.030, 0.45)}})
    assert good.passed and good.figures["24h brier_skill"] == pytest.approx(1 - 0.03 / 0.0475)
    silent = gate.judge({"test": {"24h": figures(0.40, 0.030, 0.0)}})
    assert not silent.passed and "F1 = 0" in silent.reasons[0]
    constant = gate.judge({"test": {"24h": figures(0.05, 0.0475, 0.1)}})
    assert not constant.passed
    assert any("Brier skill" in r for r in constant.reasons)
    assert any("base rate" in r for r in constant.reasons)
    assert not gate.judge({"validation": {"24h": figures(0.4, 0.03, 0.4)}}).passed


def test_a_candidate_worse_than_the_active_model_fails() -> None:
    active = {"24h": figures(0.50, 0.025, 0.5)}
    worse = gate.judge({"test": {"24h": figures(0.40, 0.030, 0.45)}}, active)
    assert not worse.passed
    assert [r.split()[0] for r in worse.reasons] == ["auc_pr", "brier_skill"]
    better = gate.judge({"test": {"24h": figures(0.60, 0.020, 0.6)}}, active)
    assert better.passed
    # Without a 24 h horizon the one closest to it is judged.
    closest = gate.judge({"test": {"6h": figures(0.4, 0.03, 0.4), "1h": figures(0.01, 0.1, 0.0)}})
    assert closest.passed and "6h auc_pr" in closest.figures


@pytest.fixture(scope="module")
def tiny_result() -> TrainResult:
    return tiny_model()


async def test_no_skill_is_never_promoted_without_force_and_a_reason(
    app: FastAPI, client: httpx.AsyncClient, account: Account, tiny_result: TrainResult
) -> None:
    h = account.headers
    async with services_of(app).db.session() as session:
        row = await registry.register(
            session, account.org_id, without_skill(tiny_result), source="imported",
            now=datetime.now(UTC),
        )  # fmt: skip
        await session.commit()
    # The org's first model, yet it does not go live on its own.
    assert row.status == "candidate" and row.meta["gate"]["passed"] is False
    refused = await client.post(f"/api/v1/models/{row.version}/promote", headers=h)
    assert refused.status_code == 409 and "F1 = 0" in refused.text
    no_reason = await client.post(
        f"/api/v1/models/{row.version}/promote", json={"force": True}, headers=h
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    forced = await client.post(
        f"/api/v1/models/{row.version}/promote",
        json={"force": True, "reason": "only model we have; watching it"},
        headers=h,
    )
    assert forced.status_code == 200, forced.text
    body = forced.json()
    assert body["status"] == "active"
    assert body["forced_by"] == account.email
    assert body["forced_reason"] == "only model we have; watching it"
    listed = (await client.get("/api/v1/models", headers=h)).json()["items"]
    assert listed[0]["forced_by"] == account.email and listed[0]["gate"]["passed"] is False


async def test_a_model_with_skill_goes_live_and_the_next_is_judged_against_it(
    app: FastAPI, client: httpx.AsyncClient, account: Account, tiny_result: TrainResult
) -> None:
    async with services_of(app).db.session() as session:
        first = await registry.register(
            session, account.org_id, tiny_result, source="imported", now=datetime.now(UTC)
        )
        await session.commit()
    assert first.status == "active" and first.meta["gate"]["passed"] is True
    async with services_of(app).db.session() as session:
        second = await registry.register(
            session, account.org_id, without_skill(tiny_result), source="imported",
            now=datetime.now(UTC),
        )  # fmt: skip
        await session.commit()
    assert second.status == "candidate"
    answer = await client.post(f"/api/v1/models/{second.version}/promote", headers=account.headers)
    assert answer.status_code == 409
