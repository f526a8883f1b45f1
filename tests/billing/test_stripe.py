"""Stripe: Checkout and Customer Portal against a local server speaking Stripe's REST API, and
the webhook state machine with real signatures, replays, late events and bad signatures."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
from conftest import (
    PRICES,
    WEBHOOK_SECRET,
    BillingClock,
    FakeStripe,
    deliver,
    event,
    make_superuser,
    sign,
)
from factories import Account, bearer, create_api_key, register
from fastapi import FastAPI
from sqlalchemy import select

from failcast.deps import services_of
from failcast.models import AuditEvent, Membership


async def billing(client: httpx.AsyncClient, account: Account) -> dict[str, object]:
    answer = await client.get("/api/v1/billing", headers=account.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def member_of(
    app: FastAPI, client: httpx.AsyncClient, owner: Account, email: str, role: str
) -> Account:
    """A person who joins `owner`'s org with `role`, acting in it."""
    person = await register(client, email, "Own")
    async with services_of(app).db.session() as session:
        session.add(Membership(user_id=person.user_id, org_id=owner.org_id, role=role))
        await session.commit()
    switched = await client.post(f"/api/v1/orgs/{owner.org_id}/switch", headers=person.headers)
    assert switched.status_code == 200, switched.text
    token = switched.json()["access_token"]
    return Account(person.user_id, owner.org_id, email, token)


def plan_of(body: dict[str, object]) -> str:
    plan = body["plan"]
    assert isinstance(plan, dict)
    return str(plan["code"])


def subscription(sub_id: str, status: str, plan: str, customer: str = "cus_1") -> dict[str, object]:
    return {
        "id": sub_id, "object": "subscription", "customer": customer, "status": status,
        "items": {"object": "list", "data": [
            {"id": "si_1", "price": {"id": PRICES[plan]}, "current_period_end": 1_900_000_000}
        ]},
        "metadata": {},
    }  # fmt: skip


async def test_checkout_and_portal_talk_to_stripe(
    app: FastAPI, client: httpx.AsyncClient, account: Account, stripe_server: FakeStripe
) -> None:
    h = account.headers
    no_customer = await client.post("/api/v1/billing/portal", json={}, headers=h)
    assert no_customer.status_code == 409, no_customer.text

    answer = await client.post("/api/v1/billing/checkout", json={"plan": "starter"}, headers=h)
    assert answer.status_code == 200, answer.text
    assert answer.json()["url"].startswith("https://checkout.stripe.test/c/")
    [customer] = stripe_server.calls("/v1/customers")
    assert customer.form["email"] == "owner@example.com"
    assert customer.form["metadata[org_id]"] == str(account.org_id)
    [checkout] = stripe_server.calls("/v1/checkout/sessions")
    assert checkout.form["mode"] == "subscription"
    assert checkout.form["customer"] == "cus_1"
    assert checkout.form["line_items[0][price]"] == "price_starter"
    assert checkout.form["client_reference_id"] == str(account.org_id)
    assert checkout.form["metadata[plan]"] == "starter"
    assert checkout.form["success_url"].endswith("/app/settings?billing=success")

    # The second checkout reuses the customer.
    pro = await client.post("/api/v1/billing/checkout", json={"plan": "professional"}, headers=h)
    assert pro.status_code == 200, pro.text
    assert len(stripe_server.calls("/v1/customers")) == 1
    assert stripe_server.calls("/v1/checkout/sessions")[1].form["line_items[0][price]"] == (
        "price_pro"
    )
    portal = await client.post(
        "/api/v1/billing/portal", json={"return_url": "https://example.com/back"}, headers=h
    )
    assert portal.status_code == 200, portal.text
    assert portal.json()["url"].startswith("https://billing.stripe.test/p/session/")
    [request] = stripe_server.calls("/v1/billing_portal/sessions")
    assert request.form == {"customer": "cus_1", "return_url": "https://example.com/back"}
    assert (await billing(client, account))["has_customer"] is True

    bad = await client.post("/api/v1/billing/checkout", json={"plan": "free"}, headers=h)
    assert bad.status_code == 422
    async with services_of(app).db.session() as session:
        actions = list(await session.scalars(
            select(AuditEvent.action).where(AuditEvent.org_id == account.org_id)
        ))  # fmt: skip
    assert actions.count("billing.checkout_started") == 2


async def test_only_the_owner_manages_billing(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> None:
    admin = await member_of(app, client, account, "admin@example.com", "admin")
    for path in ("/api/v1/billing/checkout", "/api/v1/billing/portal"):
        answer = await client.post(path, json={"plan": "starter"}, headers=admin.headers)
        assert answer.status_code == 403, answer.text
    key = await create_api_key(client, account, ["read", "write", "admin", "ingest"])
    answer = await client.post(
        "/api/v1/billing/checkout", json={"plan": "starter"}, headers=bearer(key)
    )
    assert answer.status_code == 403
    # Reading the plan and usage is open to every member.
    assert (await client.get("/api/v1/billing", headers=admin.headers)).status_code == 200


async def test_webhooks_drive_the_plan_through_its_states(
    app: FastAPI, client: httpx.AsyncClient, account: Account, billing_clock: BillingClock
) -> None:
    org = str(account.org_id)
    completed = event("evt_1", "checkout.session.completed", 1_000, {
        "id": "cs_1", "object": "checkout.session", "client_reference_id": org,
        "customer": "cus_1", "subscription": "sub_1",
        "metadata": {"org_id": org, "plan": "starter"},
    })  # fmt: skip
    answer = await deliver(client, completed)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": True, "outcome": "applied"}
    state = await billing(client, account)
    assert plan_of(state) == "starter" and state["status"] == "active"
    assert state["limits"] == {
        "max_services": 25, "max_predictions_per_month": 1000, "retention_days": 30,
        "max_samples_per_minute": 100_000,
    }  # fmt: skip

    # A re-delivered event changes nothing and is not applied twice.
    replay = await deliver(client, completed)
    assert replay.json()["outcome"] == "duplicate"

    upgraded = event("evt_2", "customer.subscription.updated", 1_010,
                     subscription("sub_1", "active", "professional"))  # fmt: skip
    assert (await deliver(client, upgraded)).json()["outcome"] == "applied"
    assert plan_of(await billing(client, account)) == "professional"

    # An older update that arrives late cannot undo the newer one.
    late = event("evt_late", "customer.subscription.updated", 1_005,
                 subscription("sub_1", "active", "starter"))  # fmt: skip
    assert (await deliver(client, late)).json()["outcome"] == "stale"
    assert plan_of(await billing(client, account)) == "professional"

    # A failed payment starts the grace period; the plan stays until it ends.
    failed = event("evt_3", "invoice.payment_failed", 1_020, {
        "id": "in_1", "object": "invoice", "customer": "cus_1", "subscription": "sub_1",
    })  # fmt: skip
    assert (await deliver(client, failed)).json()["outcome"] == "applied"
    state = await billing(client, account)
    assert plan_of(state) == "professional" and state["status"] == "past_due"
    grace_end = billing_clock.now + timedelta(days=7)
    assert state["grace_until"] == grace_end.isoformat().replace("+00:00", "Z")
    billing_clock.advance(days=6, hours=23)
    assert await services_of(app).billing.expire_grace() == []
    billing_clock.advance(hours=2)
    assert await services_of(app).billing.expire_grace() == [account.org_id]
    state = await billing(client, account)
    assert plan_of(state) == "free" and state["status"] == "grace_expired"
    assert state["grace_until"] is None

    # Paying later brings the plan back.
    paid = event("evt_4", "customer.subscription.updated", 1_030,
                 subscription("sub_1", "active", "professional"))  # fmt: skip
    assert (await deliver(client, paid)).json()["outcome"] == "applied"
    assert plan_of(await billing(client, account)) == "professional"

    # Cancelled is final for that subscription, even if an update is delivered after it.
    deleted = event("evt_5", "customer.subscription.deleted", 1_040,
                    subscription("sub_1", "canceled", "professional"))  # fmt: skip
    assert (await deliver(client, deleted)).json()["outcome"] == "applied"
    zombie = event("evt_6", "customer.subscription.updated", 1_040,
                   subscription("sub_1", "active", "professional"))  # fmt: skip
    assert (await deliver(client, zombie)).json()["outcome"] == "stale"
    state = await billing(client, account)
    assert plan_of(state) == "free" and state["status"] == "canceled"

    # A new subscription is a new purchase.
    again = event("evt_7", "customer.subscription.updated", 1_050,
                  subscription("sub_2", "active", "starter"))  # fmt: skip
    assert (await deliver(client, again)).json()["outcome"] == "applied"
    assert plan_of(await billing(client, account)) == "starter"

    async with services_of(app).db.session() as session:
        changes = list(await session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "billing.plan_changed")
            .order_by(AuditEvent.id)
        ))  # fmt: skip
    assert [(c["from"], c["to"]) for c in changes] == [
        ("free", "starter"), ("starter", "professional"), ("professional", "free"),
        ("free", "professional"), ("professional", "free"), ("free", "starter"),
    ]  # fmt: skip


async def test_events_in_reverse_order_end_in_the_newest_state(
    client: httpx.AsyncClient, account: Account
) -> None:
    org = str(account.org_id)
    sub = subscription("sub_9", "active", "professional") | {"metadata": {"org_id": org}}
    newest = event("evt_b", "customer.subscription.updated", 2_000, sub)
    oldest = event("evt_a", "checkout.session.completed", 1_990, {
        "id": "cs_9", "object": "checkout.session", "client_reference_id": org,
        "customer": "cus_9", "subscription": "sub_9",
        "metadata": {"org_id": org, "plan": "starter"},
    })  # fmt: skip
    assert (await deliver(client, newest)).json()["outcome"] == "applied"
    assert (await deliver(client, oldest)).json()["outcome"] == "stale"
    assert plan_of(await billing(client, account)) == "professional"


async def test_webhooks_refuse_bad_signatures(client: httpx.AsyncClient, account: Account) -> None:
    org = str(account.org_id)
    body = event("evt_x", "checkout.session.completed", 1_000, {
        "id": "cs_x", "object": "checkout.session", "client_reference_id": org,
        "customer": "cus_x", "metadata": {"org_id": org, "plan": "enterprise"},
    })  # fmt: skip
    payload = json.dumps(body).encode()
    cases = {
        "missing": "",
        "wrong secret": sign(payload, secret="whsec_someone_else"),
        "tampered": sign(payload.replace(b"enterprise", b"starter")),
        "too old": sign(payload, at=int(time.time()) - 3600),
        "garbage": "t=1,v1=00",
    }
    for name, signature in cases.items():
        answer = await deliver(client, body, signature=signature)
        assert answer.status_code == 400, (name, answer.text)
        assert answer.json()["error"] == "BadSignature"
    assert plan_of(await billing(client, account)) == "free"
    # Signed with the endpoint secret, the same event is applied.
    assert sign(payload, secret=WEBHOOK_SECRET)
    assert (await deliver(client, body)).json()["outcome"] == "applied"
    assert plan_of(await billing(client, account)) == "enterprise"


async def test_unknown_customers_and_event_types_are_acknowledged(
    client: httpx.AsyncClient, account: Account
) -> None:
    stranger = event("evt_s", "invoice.payment_failed", 1_000, {
        "id": "in_s", "object": "invoice", "customer": "cus_nobody", "subscription": "sub_s",
    })  # fmt: skip
    assert (await deliver(client, stranger)).json()["outcome"] == "unknown_customer"
    other = event("evt_o", "charge.succeeded", 1_000, {"id": "ch_1", "object": "charge"})
    assert (await deliver(client, other)).json()["outcome"] == "ignored"
    # Another org's id in the metadata only ever touches that org.
    intruder = await register(client, "intruder@example.com", "Intruder")
    moved = event("evt_m", "checkout.session.completed", 1_000, {
        "id": "cs_m", "object": "checkout.session", "customer": "cus_m",
        "client_reference_id": str(intruder.org_id),
        "metadata": {"org_id": str(intruder.org_id), "plan": "starter"},
    })  # fmt: skip
    assert (await deliver(client, moved)).json()["outcome"] == "applied"
    assert plan_of(await billing(client, account)) == "free"
    assert plan_of(await billing(client, intruder)) == "starter"


async def test_operators_see_every_orgs_usage(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> None:
    other = await register(client, "other@example.com", "Other")
    key = await create_api_key(client, other)
    batch = {"samples": [{"service": "s", "metric": "m", "ts": time.time(), "value": 1.0}]}
    assert (
        await client.post("/api/v1/metrics", json=batch, headers=bearer(key))
    ).status_code == 200
    await services_of(app).billing.flush_usage()
    assert (await client.get("/api/v1/admin/usage", headers=account.headers)).status_code == 403
    await make_superuser(app, account.user_id)
    answer = await client.get("/api/v1/admin/usage?limit=1", headers=account.headers)
    assert answer.status_code == 200, answer.text
    first = answer.json()
    assert [o["org_id"] for o in first["orgs"]] == [account.org_id]
    page = await client.get(
        f"/api/v1/admin/usage?cursor={first['next_cursor']}", headers=account.headers
    )
    [row] = page.json()["orgs"]
    assert row["org_id"] == other.org_id
    assert (row["services"], row["samples"], row["plan"]) == (1, 1, "free")
    assert row["limits"]["max_services"] == 5
