"""The dashboard's client of the REST API: in-process over ASGI, as the signed-in user.

Pages never touch the database; they call the same endpoints an SDK or curl would, so
authorisation, validation and tenant isolation are exactly the API's.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import FastAPI

from failcast.deps import services_of

if TYPE_CHECKING:
    from failcast.services import Services

JSON = Any
Params = Mapping[str, str | int | float | bool | list[str] | None]

# Answer times of an in-process call are milliseconds; a minute only guards against a hang.
TIMEOUT_S = 60.0


class ApiError(Exception):
    """An answer other than 2xx, with the API's error name and a readable message."""

    def __init__(self, status: int, error: str, detail: JSON) -> None:
        self.status = status
        self.error = error
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """What went wrong, as a person reads it (validation problems one per field)."""
        detail = self.detail
        if isinstance(detail, list):
            parts = []
            for problem in detail:
                if isinstance(problem, Mapping):
                    where = str(problem.get("field") or problem.get("loc") or "").strip()
                    what = str(problem.get("msg") or problem)
                    parts.append(f"{where}: {what}" if where else what)
                else:
                    parts.append(str(problem))
            return "; ".join(parts) or self.error
        if isinstance(detail, str) and detail:
            return detail
        if isinstance(detail, Mapping) and detail:
            return ", ".join(f"{k}: {v}" for k, v in detail.items())
        return f"{self.error} (HTTP {self.status})"


class Backend:
    """One FastAPI application the dashboard talks to, with one shared HTTP client."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://failcast.internal",
            timeout=TIMEOUT_S,
        )
        self.cache = ReadCache()

    @property
    def services(self) -> Services:
        """The services' container of the app, for what the dashboard reads in-process (the
        live hub, the settings)."""
        return services_of(self.app)

    def client(self, token: str | None) -> ApiClient:
        return ApiClient(self, token)


_backends: weakref.WeakKeyDictionary[FastAPI, Backend] = weakref.WeakKeyDictionary()


def backend_for(app: FastAPI) -> Backend:
    """The shared backend of `app` (one HTTP client per application)."""
    backend = _backends.get(app)
    if backend is None:
        backend = _backends[app] = Backend(app)
    return backend


class ApiClient:
    """Calls the API as one caller (a signed-in user's access token, or nobody)."""

    def __init__(self, backend: Backend, token: str | None) -> None:
        self.backend = backend
        self.token = token

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: JSON = None,
    ) -> JSON:
        """Send one request; the decoded JSON body, or ApiError for any non-2xx answer.

        A signed-in caller's GETs within CACHE_S of an identical one share its answer
        (several panels and open tabs ask for the same lists); anything else they send forgets
        their cached answers, before and after the change, so a page sees its own change at
        once. Anonymous calls (the sign-in, verification and invitation pages) are never shared.
        """
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        if method == "GET" and json is None and self.token:
            key = (self.token, path, _frozen(clean))
            return await self.backend.cache.get(key, lambda: self._send(method, path, clean, None))
        self.backend.cache.forget(self.token)
        try:
            return await self._send(method, path, clean, json)
        finally:
            # A GET that began while the change was in flight may have read the state before
            # it, and cached that answer: forget it again once the change is done.
            self.backend.cache.forget(self.token)

    async def _send(self, method: str, path: str, clean: dict[str, Any], json: JSON) -> JSON:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.backend.http.request(
            method, path, params=clean, json=json, headers=headers
        )
        if response.status_code >= 400:
            raise _error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get(self, path: str, params: Params | None = None) -> JSON:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: JSON = None) -> JSON:
        return await self.request("POST", path, json=json)

    async def patch(self, path: str, json: JSON = None) -> JSON:
        return await self.request("PATCH", path, json=json)

    async def put(self, path: str, json: JSON = None) -> JSON:
        return await self.request("PUT", path, json=json)

    async def delete(self, path: str) -> JSON:
        return await self.request("DELETE", path)

    async def download(self, path: str, params: Params | None = None) -> tuple[bytes, str]:
        """A file answer (PDF, CSV, Excel): its bytes and content type."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response = await self.backend.http.get(path, params=clean, headers=headers)
        if response.status_code >= 400:
            raise _error(response)
        return response.content, response.headers.get("content-type", "")


CacheKey = tuple[str | None, str, tuple[tuple[str, Any], ...]]
# Shorter than the pages' 2 s refresh, so every refresh still sees a fresh answer.
CACHE_S = 1.5


def _frozen(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


class ReadCache:
    """Answers to GETs for a moment, per caller; concurrent identical GETs share one request."""

    def __init__(self, ttl_s: float = CACHE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[CacheKey, tuple[float, asyncio.Future[JSON]]] = {}

    async def get(self, key: CacheKey, fetch: Callable[[], Awaitable[JSON]]) -> JSON:
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return await asyncio.shield(entry[1])
        if len(self._entries) > MAX_CACHED:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now + self.ttl_s, future)
        try:
            answer = await fetch()
        except BaseException as exc:
            # Errors are not remembered: the next refresh asks again.
            self._entries.pop(key, None)
            future.set_exception(exc)
            future.exception()  # marks it retrieved when nobody else is waiting
            raise
        future.set_result(answer)
        return answer

    def forget(self, token: str | None) -> None:
        self._entries = {k: v for k, v in self._entries.items() if k[0] != token}


MAX_CACHED = 2000


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        return ApiError(response.status_code, "HTTPError", response.text[:300])
    if isinstance(body, Mapping):
        error = str(body.get("error") or response.reason_phrase or "HTTPError")
        return ApiError(response.status_code, error, body.get("detail"))
    return ApiError(response.status_code, "HTTPError", body)


# The application pages talk to when a request does not say (tests, a single app per process).
_default: list[FastAPI] = []
# Set on every request by the mount so a page knows which application served it.
SCOPE_KEY = "failcast.app"


def set_default_app(app: FastAPI) -> None:
    _default[:] = [app]


def app_for_scope(scope: Mapping[str, Any]) -> FastAPI:
    """The Failcast application behind a dashboard request."""
    app = scope.get(SCOPE_KEY)
    if isinstance(app, FastAPI):
        return app
    if not _default:
        raise RuntimeError("the dashboard is not mounted on a Failcast application")
    return _default[0]
