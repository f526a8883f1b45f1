"""The accounts machinery one app holds: clock, rate limiter, lockouts, mailer, OIDC verifier.

`install_security(services)` keeps it on the services' container and registers its tasks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from failcast.auth.mailer import SEND_EMAIL_TASK, Email, Mailer
from failcast.auth.oidc import OidcVerifier
from failcast.auth.principal import client_ip
from failcast.auth.ratelimit import (
    Clock,
    InProcessLimiter,
    PhantomLocks,
    RateLimiter,
    RedisLimiter,
    TooManyRequests,
    system_clock,
)
from failcast.config import Settings
from failcast.db.transactions import session_scope
from failcast.deps import get_services

if TYPE_CHECKING:
    from failcast.services import Services

PRUNE_TASK = "auth.prune_sessions"
_PRUNE_EVERY_SECONDS = 3600.0


class Security:
    def __init__(
        self,
        settings: Settings,
        runner: Any,
        *,
        clock: Clock = system_clock,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.clock = clock
        self._redis: Redis | None = None
        if limiter is None and settings.scale_out:
            # Every replica counts against the same limits.
            self._redis = Redis.from_url(settings.redis_url)
            limiter = RedisLimiter(self._redis, settings.redis_prefix, lambda: self.clock())
        self.limiter: RateLimiter = limiter or InProcessLimiter(lambda: self.clock())
        self.phantom_locks = PhantomLocks()
        self.mailer = Mailer(settings)
        self.oidc = OidcVerifier(settings.oidc_providers)

    def now(self) -> datetime:
        return self.clock()

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def deliver(self, *, to: str, subject: str, text: str, html: str) -> None:
        """The runner task behind SEND_EMAIL_TASK; uses whichever mailer is current."""
        await self.mailer.send(Email(to=to, subject=subject, text=text, html=html))

    async def send_later(self, email: Email) -> None:
        """Queue `email` on the task runner, so the request does not wait on SMTP."""
        await self.runner.submit(SEND_EMAIL_TASK, **email.as_task())


def install_security(services: Services) -> Security:
    from failcast.auth import sessions

    security = Security(services.settings, services.runner)
    services.security = security

    async def prune() -> None:
        async with session_scope(services.db) as session:
            await sessions.prune(session, security.now())

    services.runner.register(SEND_EMAIL_TASK, security.deliver)
    services.runner.register(PRUNE_TASK, prune)
    services.runner.every(_PRUNE_EVERY_SECONDS, PRUNE_TASK)
    return security


def get_security(connection: HTTPConnection) -> Security:
    return get_services(connection).security


SecurityDep = Annotated[Security, Depends(get_security)]


def rate_limited(group: str) -> Callable[..., Awaitable[None]]:
    """A dependency allowing each client address `auth_rate_limit` calls per window to `group`."""

    async def dependency(request: Request, security: SecurityDep) -> None:
        settings = security.settings
        decision = await security.limiter.hit(
            f"rate:{group}:{client_ip(request)}",
            settings.auth_rate_limit,
            settings.auth_rate_window,
        )
        if not decision.allowed:
            raise TooManyRequests("too many requests; try again later", decision.retry_after)

    return dependency
