"""Billing fixtures: quotas switched on, a local server speaking Stripe's REST API, signed
webhook deliveries, a hand-driven billing clock and helpers that move an org between plans."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import update

from failcast.config import Settings
from failcast.deps import services_of
from failcast.models import Organization, User

STRIPE_KEY = "sk_test_failcast"
WEBHOOK_SECRET = "whsec_test_failcast"
PRICES = {"starter": "price_starter", "professional": "price_pro", "enterprise": "price_ent"}


@dataclass
class StripeRequest:
    method: str
    path: str
    form: dict[str, str]
    authorization: str


@dataclass
class FakeStripe:
    """Records every request; answers the three calls Failcast makes like Stripe does."""

    url: str = ""
    requests: list[StripeRequest] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def calls(self, path: str) -> list[StripeRequest]:
        return [r for r in self.requests if r.path == path]

    def answer(self, request: StripeRequest) -> tuple[int, dict[str, Any]]:
        if request.authorization != f"Bearer {STRIPE_KEY}":
            error = {"type": "invalid_request_error", "message": "Invalid API Key provided"}
            return 401, {"error": error}
        n = next(self.ids)
        form = request.form
        if request.path == "/v1/customers":
            meta = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
            return 200, {
                "id": f"cus_{n}", "object": "customer", "email": form.get("email"),
                "name": form.get("name"), "metadata": meta, "livemode": False,
            }  # fmt: skip
        if request.path == "/v1/checkout/sessions":
            if "line_items[0][price]" not in form:
                error = {"type": "invalid_request_error", "message": "Missing line_items"}
                return 400, {"error": error}
            return 200, {
                "id": f"cs_test_{n}", "object": "checkout.session", "mode": form["mode"],
                "customer": form.get("customer"), "url": f"https://checkout.stripe.test/c/{n}",
                "client_reference_id": form.get("client_reference_id"), "livemode": False,
            }  # fmt: skip
        if request.path == "/v1/billing_portal/sessions":
            return 200, {
                "id": f"bps_{n}", "object": "billing_portal.session",
                "customer": form["customer"], "return_url": form.get("return_url"),
                "url": f"https://billing.stripe.test/p/session/{n}", "livemode": False,
            }  # fmt: skip
        return 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}}


@pytest.fixture
def stripe_server() -> Iterator[FakeStripe]:
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            assert self.headers.get("Content-Type", "").startswith(
                "application/x-www-form-urlencoded"
            )
            request = StripeRequest(
                "POST", self.path, dict(parse_qsl(body)), self.headers.get("Authorization", "")
            )
            fake.requests.append(request)
            status, payload = fake.answer(request)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{len(fake.requests)}")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def settings(settings: Settings, stripe_server: FakeStripe) -> Settings:
    return settings.model_copy(
        update={
            "billing_enabled": True,
            "stripe_api_key": SecretStr(STRIPE_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_api_base": stripe_server.url,
            "stripe_price_starter": PRICES["starter"],
            "stripe_price_professional": PRICES["professional"],
            "stripe_price_enterprise": PRICES["enterprise"],
            "retention_batch_size": 3,
            "dashboard_enabled": False,
        }
    )


class BillingClock:
    def __init__(self) -> None:
        # Half past a minute, near the real time, so ingestion's own time checks agree.
        self.now = datetime.now(UTC).replace(second=30, microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def billing_clock(app: FastAPI) -> BillingClock:
    clock = BillingClock()
    services_of(app).billing.clock = clock
    return clock


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send: t=<time>,v1=HMAC-SHA256(t.payload)."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event(event_id: str, kind: str, created: int, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id, "object": "event", "type": kind, "created": created,
        "api_version": "2025-01-27.acacia", "livemode": False, "data": {"object": obj},
    }  # fmt: skip


async def deliver(
    client: httpx.AsyncClient, body: dict[str, Any], *, signature: str | None = None
) -> httpx.Response:
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = signature if signature is not None else sign(payload)
    return await client.post("/api/v1/billing/webhook", content=payload, headers=headers)


async def set_plan(app: FastAPI, org_id: int, plan: str) -> None:
    async with services_of(app).db.session() as session:
        await session.execute(
            update(Organization).where(Organization.id == org_id).values(plan=plan)
        )
        await session.commit()
    services_of(app).billing.quotas.forget(org_id)


async def make_superuser(app: FastAPI, user_id: int) -> None:
    async with services_of(app).db.session() as session:
        await session.execute(update(User).where(User.id == user_id).values(is_superuser=True))
        await session.commit()
