"""Quota enforcement: services and predictions per plan (402), samples a minute (429).

Ingestion never pays for this on known services: the service limit is checked only when a
batch would create services, and the sample rate is kept in memory with plan limits cached
for a minute. Sample counts are added to the month's usage by a periodic flush, so a crash
loses at most one flush interval of metering, never data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from failcast.auth.principal import bearer_token, principal_from_token
from failcast.billing import repository
from failcast.billing.errors import PlanLimitReached, RateLimitExceeded, quota_headers
from failcast.billing.plans import Limits, month_key, next_month_start
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.errors import FailcastError
from failcast.timeutil import ms_to_datetime

Clock = Callable[[], datetime]
LIMITS_TTL_SECONDS = 60.0
# Requests whose cost is a plan quota, checked before the endpoint runs.
PREDICT = ("POST", "/api/v1/predict")
CREATE_SERVICE = ("POST", "/api/v1/services")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class QuotaNote:
    """Quota headers a request earned; the middleware adds them to its response."""

    headers: dict[str, str] = field(default_factory=dict)


_note: ContextVar[QuotaNote | None] = ContextVar("failcast_quota_note", default=None)


class Quotas:
    """Per-process quota state: cached limits, sample-rate windows, unflushed sample counts."""

    def __init__(self, database: Database, *, clock: Clock = system_clock) -> None:
        self.database = database
        self.clock = clock
        self._limits: dict[int, tuple[float, Limits]] = {}
        self._rate: dict[int, tuple[int, int]] = {}  # org -> (minute, samples admitted)
        self._pending: dict[tuple[int, str], int] = {}

    def forget(self, org_id: int | None = None) -> None:
        """Drop cached limits (all, or one org's) after a plan change."""
        if org_id is None:
            self._limits.clear()
        else:
            self._limits.pop(org_id, None)

    async def limits(self, session: AsyncSession, org_id: int) -> Limits:
        cached = self._limits.get(org_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        limits = await repository.org_limits(session, org_id)
        self._limits[org_id] = (now + LIMITS_TTL_SECONDS, limits)
        return limits

    # -- services ---------------------------------------------------------------------------

    async def check_new_services(
        self, session: AsyncSession, org_id: int, names: Sequence[str]
    ) -> None:
        """Refuse (402) services beyond the plan's count; the Ingestor calls this."""
        limits = await self.limits(session, org_id)
        if limits.max_services is None:
            return
        count = await repository.service_count(session, org_id)
        if count + len(names) > limits.max_services:
            raise self._services_error(limits, count, len(names))

    def _services_error(self, limits: Limits, count: int, adding: int) -> PlanLimitReached:
        assert limits.max_services is not None
        return PlanLimitReached(
            quota="services",
            plan=limits.plan,
            limit=limits.max_services,
            used=count,
            reset=next_month_start(self.clock()),
            msg=(
                f"the {limits.plan} plan allows {limits.max_services} services; the org has "
                f"{count} and this request would add {adding}. Upgrade the plan for more."
            ),
        )

    # -- samples ----------------------------------------------------------------------------

    async def admit_samples(self, session: AsyncSession, org_id: int, count: int) -> None:
        """Count a batch against the plan's samples a minute (429 beyond it) and the month."""
        limits = await self.limits(session, org_id)
        now = self.clock()
        minute = int(now.timestamp() // 60)
        window, used = self._rate.get(org_id, (minute, 0))
        if window != minute:
            used = 0
        reset = ms_to_datetime((minute + 1) * 60_000)
        limit = limits.max_samples_per_minute
        if limit is not None:
            if used + count > limit:
                raise RateLimitExceeded(
                    quota="samples", plan=limits.plan, limit=limit, used=used, reset=reset, now=now
                )
            note = _note.get()
            if note is not None:
                note.headers = quota_headers(limit, limit - used - count, reset)
        self._rate[org_id] = (minute, used + count)
        key = (org_id, month_key(now))
        self._pending[key] = self._pending.get(key, 0) + count

    def pending_samples(self, org_id: int, month: str) -> int:
        return self._pending.get((org_id, month), 0)

    async def flush(self) -> int:
        """Add the samples counted since the last flush to the monthly usage rows."""
        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        now = self.clock()
        try:
            async with session_scope(self.database) as session:
                for (org_id, month), count in sorted(pending.items()):
                    await repository.add_usage(session, org_id, month, now, samples=count)
        except BaseException:
            # Keep the counts for the next flush instead of losing them.
            for key, count in pending.items():
                self._pending[key] = self._pending.get(key, 0) + count
            raise
        return sum(pending.values())

    # -- predictions ------------------------------------------------------------------------

    async def prediction_allowance(
        self, session: AsyncSession, org_id: int
    ) -> tuple[Limits, int, datetime]:
        """(limits, predictions used this month, reset); 402 when none are left."""
        limits = await self.limits(session, org_id)
        now = self.clock()
        reset = next_month_start(now)
        used, _ = await repository.usage(session, org_id, month_key(now))
        limit = limits.max_predictions_per_month
        if limit is not None and used >= limit:
            raise PlanLimitReached(
                quota="predictions",
                plan=limits.plan,
                limit=limit,
                used=used,
                reset=reset,
                msg=(
                    f"the {limits.plan} plan allows {limit} predictions a month and all are "
                    f"used; they reset on {reset.date().isoformat()}. Upgrade the plan for more."
                ),
            )
        return limits, used, reset

    async def count_prediction(self, org_id: int) -> None:
        async with session_scope(self.database) as session:
            now = self.clock()
            await repository.add_usage(session, org_id, month_key(now), now, predictions=1)


def _error_response(exc: FailcastError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.name, "detail": exc.detail}, exc.status_code, headers=exc.headers
    )


class QuotaMiddleware:
    """Checks request-level quotas (predictions, catalogue services) before the endpoint runs,
    counts successful predictions, and adds the quota headers a request earned."""

    def __init__(self, app: ASGIApp, quotas: Quotas, settings: Settings) -> None:
        self.app = app
        self.quotas = quotas
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = (scope["method"], scope["path"].rstrip("/") or "/")
        note = QuotaNote()
        token = _note.set(note)
        try:
            if key == PREDICT:
                await self._predict(scope, receive, send, note)
            elif key == CREATE_SERVICE:
                await self._create_service(scope, receive, send, note)
            else:
                await self.app(scope, receive, self._with_headers(send, note))
        finally:
            _note.reset(token)

    @staticmethod
    def _with_headers(send: Send, note: QuotaNote, on_status: Any = None) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                if on_status is not None:
                    on_status(message["status"])
                headers = list(message.get("headers", []))
                # An error that names its own quota (a 402 or 429) keeps its headers.
                own = any(name.lower().startswith(b"x-failcast-quota-") for name, _ in headers)
                if note.headers and not own:
                    headers += [(k.lower().encode(), v.encode()) for k, v in note.headers.items()]
                    message = {**message, "headers": headers}
            await send(message)

        return wrapped

    async def _org_of(self, scope: Scope) -> int | None:
        """The caller's org, or None to let the endpoint answer an unauthenticated caller."""
        from starlette.requests import Request

        request = Request(scope)
        token = bearer_token(request)
        if token is None:
            return None
        try:
            async with session_scope(self.quotas.database) as session:
                principal = await principal_from_token(session, self.settings, token)
        except FailcastError:
            return None
        return principal.org_id

    async def _predict(self, scope: Scope, receive: Receive, send: Send, note: QuotaNote) -> None:
        org_id = await self._org_of(scope)
        if org_id is None:
            await self.app(scope, receive, send)
            return
        try:
            async with session_scope(self.quotas.database) as session:
                limits, used, reset = await self.quotas.prediction_allowance(session, org_id)
        except PlanLimitReached as exc:
            await _error_response(exc)(scope, receive, send)
            return
        limit = limits.max_predictions_per_month
        succeeded: list[bool] = []

        def on_status(status: int) -> None:
            succeeded.append(200 <= status < 300)
            if limit is not None:
                note.headers = quota_headers(limit, limit - used - int(succeeded[0]), reset)

        await self.app(scope, receive, self._with_headers(send, note, on_status))
        if succeeded and succeeded[0]:
            await self.quotas.count_prediction(org_id)

    async def _create_service(
        self, scope: Scope, receive: Receive, send: Send, note: QuotaNote
    ) -> None:
        org_id = await self._org_of(scope)
        if org_id is not None:
            try:
                async with session_scope(self.quotas.database) as session:
                    await self.quotas.check_new_services(session, org_id, ["(new)"])
            except PlanLimitReached as exc:
                await _error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, self._with_headers(send, note))
