"""One error family, one handler, one body shape.

FailcastError                 -> {"error": <name>, "detail": ...}
├── ValidationFailed (422)       detail: [{"index"?, "field", "msg"}]
├── PayloadTooLarge (413)
├── Unauthorized (401)
├── Forbidden (403)
├── NotFound (404)
└── Conflict (409)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException


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
}


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    name = _HTTP_NAMES.get(exc.status_code, "HTTPError")
    headers = dict(exc.headers) if exc.headers else None
    return JSONResponse(_body(name, exc.detail), exc.status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FailcastError, _failcast_handler)
    app.add_exception_handler(RequestValidationError, _request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
