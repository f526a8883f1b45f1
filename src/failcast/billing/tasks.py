"""The billing machinery one app holds, its periodic jobs, and how it hooks into ingestion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from failcast.billing import retention, service
from failcast.billing.gateway import StripeGateway
from failcast.billing.quotas import QuotaMiddleware, Quotas
from failcast.billing.webhooks import WebhookProcessor
from failcast.config import Settings
from failcast.db.engine import Database

FLUSH_TASK = "billing.flush_usage"
GRACE_TASK = "billing.expire_grace"
RETENTION_TASK = "billing.retention"
FLUSH_SECONDS = 30.0
GRACE_SECONDS = 3600.0
RETENTION_SECONDS = 3600.0


class Billing:
    """Quotas, the Stripe gateway and the webhook processor, with one clock for all."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.quotas = Quotas(database, clock=lambda: self.clock())
        self.gateway = StripeGateway(settings)
        self.webhooks = WebhookProcessor(self.gateway, settings.billing_grace_period)

    def now(self) -> datetime:
        return self.clock()

    async def flush_usage(self) -> int:
        return await self.quotas.flush()

    async def expire_grace(self) -> list[int]:
        return await service.expire_grace(self.database, self.quotas, self.clock())

    async def retention(self) -> tuple[int, int]:
        return await retention.apply_all(
            self.database, self.clock(), self.settings.retention_batch_size
        )


def install_billing(app: FastAPI) -> Billing:
    """Put `Billing` on app.state; with billing enabled, enforce quotas and run its jobs."""
    settings: Settings = app.state.settings
    billing = Billing(settings, app.state.db)
    app.state.billing = billing
    if not settings.billing_enabled:
        return billing
    ingestor = app.state.ingestor
    ingestor.on_new_services = billing.quotas.check_new_services
    ingestor.on_samples = billing.quotas.admit_samples
    app.add_middleware(QuotaMiddleware, quotas=billing.quotas)
    runner = app.state.runner
    runner.register(FLUSH_TASK, billing.flush_usage)
    runner.register(GRACE_TASK, billing.expire_grace)
    runner.register(RETENTION_TASK, billing.retention)
    runner.every(FLUSH_SECONDS, FLUSH_TASK)
    runner.every(GRACE_SECONDS, GRACE_TASK)
    runner.every(RETENTION_SECONDS, RETENTION_TASK)
    return billing


def get_billing(request: Request) -> Billing:
    billing: Billing = request.app.state.billing
    return billing


BillingDep = Annotated[Billing, Depends(get_billing)]
