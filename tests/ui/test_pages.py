"""Dashboard pages driven by a simulated browser against a real API and store."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from _predict_synthetic import tiny_model, without_skill
from factories import PASSWORD, mail_to, register, running_mailbox
from fastapi import FastAPI
from nicegui import ui
from nicegui.testing.user import User

from failcast.auth.service import INVALID_LOGIN
from failcast.deps import services_of
from failcast.models import ModelVersion
from failcast.predict import registry, training_jobs

# The API answers in milliseconds, but password hashing and a cold store take longer than the
# simulated browser's default 0.3 s of patience.
RETRIES = 100


async def see(user: User, target: str | None = None, *, marker: str | None = None) -> None:
    if target is None:
        await user.should_see(marker=marker, retries=RETRIES)
    else:
        await user.should_see(target, retries=RETRIES)


async def sign_in(user: User, email: str) -> None:
    await user.open("/login")
    user.find("Email").type(email)
    user.find("Password").type(PASSWORD)
    user.find(marker="sign-in").click()
    await see(user, marker="org-name")


async def test_sign_up_creates_the_account_and_opens_onboarding(
    user: User, api: httpx.AsyncClient
) -> None:
    await user.open("/signup")
    user.find("Your name").type("Ada")
    user.find("Work email").type("ada@example.com")
    user.find("Organisation").type("Lovelace Labs")
    user.find("Password (12+ characters)").type(PASSWORD)
    user.find(marker="sign-up").click()
    await see(user, "Lovelace Labs")
    await see(user, "No services yet — send your first metrics")
    login = await api.post("/api/v1/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert login.status_code == 200


async def test_wrong_password_shows_the_api_error(user: User, api: httpx.AsyncClient) -> None:
    await register(api, "grace@example.com")
    await user.open("/login")
    user.find("Email").type("grace@example.com")
    user.find("Password").type("not the password at all")
    user.find(marker="sign-in").click()
    await see(user, INVALID_LOGIN)
    await user.should_not_see(marker="org-name")


async def test_signed_out_visitors_are_sent_to_sign_in(user: User) -> None:
    await user.open("/topology")
    await see(user, "Sign in")
    await see(user, marker="sign-in")


async def test_overview_scores_services_from_their_latest_metrics(
    user: User, api: httpx.AsyncClient
) -> None:
    account = await register(api, "sre@example.com", org_name="Acme")
    now = time.time()
    samples = [
        {"service": "api", "metric": "latency_p99_ms", "value": 50.0, "ts": now - 5},
        {"service": "api", "metric": "error_rate", "value": 0.005, "ts": now - 5},
        {"service": "api", "metric": "cpu_pct", "value": 60.0, "ts": now - 5},
        {"service": "db", "metric": "latency_p99_ms", "value": 200.0, "ts": now - 5},
        {"service": "db", "metric": "error_rate", "value": 0.005, "ts": now - 5},
        {"service": "db", "metric": "cpu_pct", "value": 60.0, "ts": now - 5},
    ]
    answer = await api.post("/api/v1/metrics", json={"samples": samples}, headers=account.headers)
    assert answer.status_code == 200, answer.text
    await sign_in(user, "sre@example.com")
    # db: latency 200 ms scores 40 (critical); errors and CPU score 100; weights 20/20/15:
    # (20*40 + 20*100 + 15*100) / 55 = 78.2, capped at 59 because it is critical. api scores
    # 100. Org: mean 79.5, one critical service of equal tier costs 15 points: 64.5, warning.
    await see(user, "tier-weighted mean 79.5 - penalty 15.0 = 64.5 (warning)")
    await see(user, marker="service-db")
    card = user.find(marker="service-db").elements.pop()
    texts = [e.text for e in card.descendants() if isinstance(e, ui.label)]
    assert "59" in texts
    assert "latency_p99_ms 200 (critical)" in texts
    await see(user, "Acme health is 64/100 (warning) across 2 services")


async def test_api_key_is_created_shown_once_and_listed(user: User, api: httpx.AsyncClient) -> None:
    account = await register(api, "owner@example.com")
    await sign_in(user, "owner@example.com")
    await user.open("/settings?tab=keys")
    await see(user, marker="no-keys")
    user.find(marker="key-name").type("ci pipeline")
    user.find(marker="create-key").click()
    await see(user, "Copy it now: it is shown only once.")
    keys = (await api.get("/api/v1/api-keys", headers=account.headers)).json()
    assert [k["name"] for k in keys] == ["ci pipeline"]
    shown = user.find(marker="new-key").elements.pop()
    assert f"_{keys[0]['prefix']}_" in getattr(shown, "content", "")
    await see(user, marker="key-table")


async def test_chaos_page_starts_the_simulated_fleet_with_history(
    user: User, api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    account = await register(api, "chaos@example.com")
    await sign_in(user, "chaos@example.com")
    await user.open("/chaos")
    await see(user, marker="chaos-disabled")
    history = user.find(marker="simulator-history").elements.pop()
    assert isinstance(history, ui.select) and history.value == 2
    history.value = 1
    user.find(marker="start-simulator").click()
    await see(user, marker="history-banner")
    await see(user, "Storing 1 day of history in the background")
    fleet = (await api.get("/api/v1/chaos/fleet", headers=account.headers)).json()
    assert fleet["enabled"] is True
    await services_of(api_app).runner.drain()
    stats = (await api.get("/api/v1/stats", headers=account.headers)).json()
    series = sum(len(s["metrics"]) for s in fleet["services"])
    assert stats["samples"] >= series * 288  # a day on the five-minute grid, plus live ticks
    # A new org has no alert rule: the page says why no fault will raise an alert.
    await user.open("/chaos")
    await see(user, marker="no-rules")


async def evaluate_alerts(app: FastAPI) -> None:
    """One pass of the periodic alerting job, as the runner would start it."""
    await services_of(app).runner.tasks["alerting.evaluate"]()


async def test_alerts_are_acknowledged_commented_and_shown_with_their_timeline(
    user: User, api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    account = await register(api, "oncall@example.com")
    now = time.time()
    samples = [
        {"service": "api", "metric": "latency_p99_ms", "value": 450.0, "ts": now - s}
        for s in (5, 65, 125)
    ]
    assert (await api.post("/api/v1/metrics", json={"samples": samples},
                           headers=account.headers)).status_code == 200  # fmt: skip
    rule = {"kind": "threshold", "name": "slow api", "service": "api", "op": ">",
            "metric": "latency_p99_ms", "value": 200, "severity": "critical"}  # fmt: skip
    created = await api.post("/api/v1/alert-rules", json=rule, headers=account.headers)
    assert created.status_code == 201, created.text
    await evaluate_alerts(api_app)
    [alert] = (await api.get("/api/v1/alerts", headers=account.headers)).json()["items"]
    assert alert["state"] == "firing"

    await sign_in(user, "oncall@example.com")
    await user.open("/alerts")
    await see(user, "slow api on api")
    await see(user, "avg(latency_p99_ms[5m]) > 200 (was 450)")
    user.find(marker=f"ack-{alert['id']}").click()
    await see(user, "Acknowledged: slow api on api")
    shown = (await api.get(f"/api/v1/alerts/{alert['id']}", headers=account.headers)).json()
    assert shown["state"] == "acknowledged"

    user.find("Comment").click()
    user.find(marker="comment-text").type("rolling back the deploy")
    user.find(marker="comment-save").click()
    await see(user, "Commented: slow api on api")
    user.find("Timeline").click()
    await see(user, marker="timeline")
    await see(user, "rolling back the deploy")


async def test_a_webhook_channel_is_added_and_a_signed_test_arrives(
    user: User, api: httpx.AsyncClient
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = "a webhook secret of some length"
    try:
        await register(api, "hooks@example.com")
        await sign_in(user, "hooks@example.com")
        await user.open("/settings?tab=channels")
        await see(user, marker="no-channels")
        user.find(marker="channel-name").type("ops-hook")
        kind = user.find(marker="channel-kind").elements.pop()
        assert isinstance(kind, ui.select)
        kind.value = "webhook"
        user.find(marker="channel-url").type(f"http://127.0.0.1:{server.server_port}/hook")
        user.find(marker="channel-secret").type(secret)
        user.find(marker="add-channel").click()
        await see(user, "Channel ops-hook added. Send a test to check it.")
        await see(user, marker="test-ops-hook")
        user.find(marker="test-ops-hook").click()
        await see(user, "Test delivered to ops-hook.")
    finally:
        server.shutdown()
    [(headers, body)] = received
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Failcast-Signature"] == f"sha256={digest}"


async def test_an_slo_added_on_the_page_is_stored_and_listed(
    user: User, api: httpx.AsyncClient
) -> None:
    account = await register(api, "slo@example.com")
    await sign_in(user, "slo@example.com")
    await user.open("/slos")
    await see(user, "No SLOs yet")
    user.find(marker="slo-name").type("checkout-latency")
    user.find(marker="slo-service").type("checkout")
    user.find(marker="add-slo").click()
    await see(user, "SLO checkout-latency added.")
    [slo] = (await api.get("/api/v1/slos", headers=account.headers)).json()
    assert (slo["service"], slo["objective"], slo["sli"]["threshold_ms"]) == (
        "checkout", 0.999, 200.0,
    )  # fmt: skip
    # No samples yet: the page says so instead of drawing a full budget.
    await see(user, marker="slo-checkout-latency")


async def test_the_mailed_verification_link_opens_a_page_that_verifies(
    user: User, api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    from failcast.auth.mailer import Mailer

    with running_mailbox() as box:
        services_of(api_app).security.mailer = Mailer(mail_to(services_of(api_app).settings, box))
        account = await register(api, "new@example.com")
        await services_of(api_app).runner.drain()
        link = box.link("new@example.com", "/email/verify")
    token = parse_qs(urlsplit(link).query)["token"][0]
    await user.open(f"/verify?token={token}")
    await see(user, "new@example.com is verified. You can sign in.")
    profile = (await api.get("/api/v1/profile", headers=account.headers)).json()
    assert profile["user"]["email_verified_at"] is not None
    await user.open(f"/verify?token={token}")
    await see(user, "Could not verify: token: this link is invalid or has expired")


async def test_models_page_trains_on_simulated_history_while_the_fleet_runs(
    user: User, api: httpx.AsyncClient, api_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await register(api, "ml@example.com")
    queued: list[dict[str, Any]] = []

    async def submit(name: str, **kwargs: Any) -> None:
        if name == "predict.train":
            queued.append(kwargs)

    monkeypatch.setattr(services_of(api_app).runner, "submit", submit)
    await sign_in(user, "ml@example.com")
    await user.open("/models")
    await see(user, "No trained model yet")
    # Without the simulated fleet there is nothing to choose: stored history it is.
    user.find(marker="train").click()
    await see(user, "Training on the last 60 days of stored metrics and incidents…")
    assert queued == [{"org_id": account.org_id, "days": 60, "source": "database", "job_id": 1}]
    await user.should_not_see(marker="train-source")

    started = await api.put(
        "/api/v1/chaos/simulator", json={"enabled": True}, headers=account.headers
    )
    assert started.status_code == 200, started.text
    await user.open("/models")
    await see(user, marker="train-source")
    source = user.find(marker="train-source").elements.pop()
    assert isinstance(source, ui.select) and source.value == "simulator"
    user.find(marker="train").click()
    await see(user, "Training on 30 days of simulated history…")
    assert queued[-1] == {"org_id": account.org_id, "days": 30, "source": "simulator", "job_id": 2}

    # The notice stays until the job has registered its version.
    async def train() -> ModelVersion:
        async with services_of(api_app).db.session() as session:
            row = await registry.register(
                session, account.org_id, tiny_model(), source="simulator", now=datetime.now(UTC)
            )
            await session.commit()
            return row

    await training_jobs.run_tracked(services_of(api_app).db, 2, train)
    await see(user, "version 1")
    await user.should_not_see("Training on 30 days of simulated history…", retries=RETRIES)


async def test_models_page_shows_the_gate_and_forces_a_promotion_with_a_reason(
    user: User, api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    account = await register(api, "gate@example.com")
    async with services_of(api_app).db.session() as session:
        row = await registry.register(
            session, account.org_id, without_skill(tiny_model()), source="imported",
            now=datetime.now(UTC),
        )  # fmt: skip
        await session.commit()
    await sign_in(user, "gate@example.com")
    await user.open("/models")
    await see(user, "Fails the promotion gate:")
    await see(user, "• its alarms at 6h catch no incident (F1 = 0)")
    offered = {b.text for b in user.find(ui.button).elements if isinstance(b, ui.button)}
    assert "Promote anyway…" in offered and "Promote" not in offered

    user.find(marker=f"force-{row.version}").click()
    user.find(marker="force-promote").click()  # no reason given
    await see(user, "Say why the gate is overridden.")
    listed = (await api.get("/api/v1/models", headers=account.headers)).json()["items"]
    assert listed[0]["status"] == "candidate"

    user.find(marker="force-reason").type("the only model we have; watching it")
    user.find(marker="force-promote").click()
    await see(user, "Promoted anyway by gate@example.com")
    await see(user, ": the only model we have; watching it")
    listed = (await api.get("/api/v1/models", headers=account.headers)).json()["items"]
    assert listed[0]["status"] == "active"
    assert listed[0]["forced_by"] == "gate@example.com"
    assert listed[0]["forced_reason"] == "the only model we have; watching it"


async def test_an_org_without_health_data_reads_unknown_not_low_risk(
    user: User, api: httpx.AsyncClient
) -> None:
    account = await register(api, "new@example.com", org_name="Fresh")
    sample = {"service": "api", "metric": "queue_depth", "value": 3.0, "ts": time.time() - 5}
    answer = await api.post("/api/v1/metrics", json={"samples": [sample]}, headers=account.headers)
    assert answer.status_code == 200, answer.text
    await sign_in(user, "new@example.com")
    await see(user, marker="risk-unknown")
    await see(user, "Unknown: no data yet")
    await user.should_not_see("Every measured service is at low risk")


async def test_the_alerts_page_adds_the_recommended_rules_in_one_click(
    user: User, api: httpx.AsyncClient
) -> None:
    account = await register(api, "owner@example.com", org_name="Fresh")
    await sign_in(user, "owner@example.com")
    await user.open("/alerts")
    await see(user, "No alert rule yet: nothing can raise an alert.")
    user.find(marker="apply-defaults").click()
    await see(user, "high error rate: avg(error_rate[2m]) > 0.05 on all services")
    rules = (await api.get("/api/v1/alert-rules", headers=account.headers)).json()
    assert "SLO budget burning fast" in {r["name"] for r in rules}


async def test_a_failed_training_shows_its_reason_and_what_to_do_in_the_api_and_page(
    user: User, api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    account = await register(api, "ml@example.com")
    sample = {"service": "api", "metric": "latency_p99_ms", "value": 80.0, "ts": time.time() - 5}
    answer = await api.post("/api/v1/metrics", json={"samples": [sample]}, headers=account.headers)
    assert answer.status_code == 200, answer.text
    await sign_in(user, "ml@example.com")
    await user.open("/models")
    user.find(marker="train").click()
    await see(user, marker="training-failed")
    await see(user, "no incidents recorded in the last 60 days")
    await see(user, "mark resolved alerts as incidents")

    jobs = (await api.get("/api/v1/training-jobs", headers=account.headers)).json()
    assert [(j["state"], j["model_version"]) for j in jobs] == [("failed", None)]
    assert "no incidents recorded" in jobs[0]["reason"]
    assert jobs[0]["advice"] == training_jobs.NO_INCIDENTS_ADVICE
    one = await api.get(f"/api/v1/training-jobs/{jobs[0]['id']}", headers=account.headers)
    assert one.json() == jobs[0]


async def test_an_unknown_address_shows_a_page_with_the_navigation(
    user: User, api: httpx.AsyncClient
) -> None:
    await register(api, "lost@example.com")
    await sign_in(user, "lost@example.com")
    await user.open("/no-such-page")
    await see(user, marker="not-found")
    await see(user, "No such page")
    await see(user, "Overview")
