"""The billing machinery one app holds, its periodic jobs, and how it hooks into ingestion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from failcast.billing import retention, service
from failcast.billing.gateway import StripeGateway
from failcast.billing.quotas import Quotas
from failcast.billing.webhooks import WebhookProcessor
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.deps import get_services

if TYPE_CHECKING:
    from failcast.services import Services

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


def install_billing(services: Services) -> Billing:
    """Put `Billing` on the container; with billing enabled, enforce quotas at ingest and run
    its jobs (the web app adds `QuotaMiddleware` for the request-level quotas)."""
    settings = services.settings
    billing = Billing(settings, services.db)
    services.billing = billing
    if not settings.billing_enabled:
        return billing
    ingestor = services.ingestor
    ingestor.on_new_services = billing.quotas.check_new_services
    ingestor.on_samples = billing.quotas.admit_samples
    runner = services.runner
    runner.register(FLUSH_TASK, billing.flush_usage)
    runner.register(GRACE_TASK, billing.expire_grace)
    runner.register(RETENTION_TASK, billing.retention)
    runner.every(FLUSH_SECONDS, FLUSH_TASK)
    runner.every(GRACE_SECONDS, GRACE_TASK)
    runner.every(RETENTION_SECONDS, RETENTION_TASK)
    return billing


def get_billing(connection: HTTPConnection) -> Billing:
    return get_services(connection).billing


BillingDep = Annotated[Billing, Depends(get_billing)]
