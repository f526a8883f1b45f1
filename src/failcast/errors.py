"""One error family, one handler, one body shape.

FailcastError                 -> {"error": <name>, "detail": ...}
├── ValidationFailed (422)       detail: [{"index"?, "field", "msg"}]
├── PayloadTooLarge (413)
├── Unauthorized (401)
├── Forbidden (403)
├── NotFound (404)
├── Conflict (409)
├── TooManyRequests (429)        with Retry-After
└── Unavailable (503)            with Retry-After: a dependency (the metrics engine) is down

Two answers come from outside the family: a store too busy to take a write (SQLite's
"database is locked") is a 503 with `Retry-After`, and any other unhandled exception is a 500
with the same body shape plus the request's id, never a plain-text page.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

# The request's id in the ASGI scope, put there by the request middleware (ops/middleware.py)
# so that a 500 answered outside it can still name the request.
REQUEST_ID_SCOPE_KEY = "failcast.request_id"
# How long a client is asked to wait when the store is busy, in seconds.
STORE_BUSY_RETRY_AFTER = 2


class FailcastError(Exception):
    status_code = 400

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers

    @property
    def name(self) -> str:
        return type(self).__name__


class ValidationFailed(FailcastError):
    status_code = 422


class PayloadTooLarge(FailcastError):
    status_code = 413


class Unauthorized(FailcastError):
    status_code = 401

    def __init__(self, detail: Any = "authentication required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(FailcastError):
    status_code = 403


class NotFound(FailcastError):
    status_code = 404


class Conflict(FailcastError):
    status_code = 409


class TooManyRequests(FailcastError):
    """429 with a Retry-After header telling the client when to come back."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class Unavailable(FailcastError):
    """503 with Retry-After: something the answer depends on is down; nothing was stored."""

    status_code = 503

    def __init__(self, detail: str, retry_after: int = STORE_BUSY_RETRY_AFTER) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="The error's name, such as `NotFound` or `ValidationFailed`.")
    detail: Any = Field(
        default=None,
        description="What was wrong: a message, or for `ValidationFailed` a list of "
        '`{"index"?, "field", "msg"}` problems.',
    )
    request_id: str | None = Field(
        default=None, description="On an internal error: the request's id, as in the logs."
    )


def problems_from_pydantic(errors: list[Any], *, drop: int = 0) -> list[dict[str, Any]]:
    """Turn pydantic error entries into `{"index", "field", "msg"}` items.

    `drop` removes leading location parts (such as "body" or "samples"). An integer right after
    them is the index of the offending item in a batch.
    """
    problems: list[dict[str, Any]] = []
    for error in errors:
        loc = list(error.get("loc", ()))[drop:]
        item: dict[str, Any] = {}
        if loc and isinstance(loc[0], int):
            item["index"] = loc.pop(0)
        item["field"] = ".".join(str(part) for part in loc) or None
        msg = str(error.get("msg", "invalid"))
        item["msg"] = msg.removeprefix("Value error, ")
        problems.append(item)
    return problems


def _body(name: str, detail: Any) -> dict[str, Any]:
    return {"error": name, "detail": detail}


async def _failcast_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FailcastError)
    return JSONResponse(_body(exc.name, exc.detail), exc.status_code, headers=exc.headers)


async def _request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError | ValidationError)
    errors = list(exc.errors())
    return JSONResponse(_body("ValidationFailed", problems_from_pydantic(errors)), 422)


_HTTP_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}


# What FastAPI says when a JSON body cannot even be decoded (not UTF-8); that is invalid JSON
# like any other, so it gets the same 422 as a syntax error.
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        problem = {"field": "body", "msg": "body is not valid JSON (UTF-8 text)"}
        return JSONResponse(_body("ValidationFailed", [problem]), 422)
    name = _HTTP_NAMES.get(exc.status_code, "HTTPError")
    headers = dict(exc.headers) if exc.headers else None
    return JSONResponse(_body(name, exc.detail), exc.status_code, headers=headers)


def is_store_busy(exc: BaseException) -> bool:
    """Whether `exc` is SQLite refusing a write because another one holds the lock."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


async def _operational_handler(request: Request, exc: Exception) -> JSONResponse:
    if not is_store_busy(exc):
        raise exc
    detail = "the store is busy; retry shortly"
    headers = {"Retry-After": str(STORE_BUSY_RETRY_AFTER)}
    return JSONResponse(_body("StoreBusy", detail), 503, headers=headers)


async def _unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this answer, so the server still logs it with
    # its traceback; the client only learns the request's id to quote.
    request_id = str(request.scope.get(REQUEST_ID_SCOPE_KEY, ""))
    body = _body("InternalError", "an unexpected error occurred") | {"request_id": request_id}
    return JSONResponse(body, 500, headers={"X-Request-ID": request_id} if request_id else None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FailcastError, _failcast_handler)
    app.add_exception_handler(RequestValidationError, _request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(OperationalError, _operational_handler)
    app.add_exception_handler(Exception, _unhandled_handler)
