"""The documented shape of error answers, for routes that declare the errors they answer
beyond those the OpenAPI document adds from the route table (openapi.py)."""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated: no, an invalid or an expired credential",
    402: "A plan limit is reached",
    403: "Not allowed for this caller (role, API key scope, or a limit of the org)",
    404: "Not found (or another organisation's)",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request; the detail lists every problem",
    429: "Too many requests; see Retry-After",
    502: "An upstream service failed",
    503: "Temporarily unavailable (the store is busy); see Retry-After",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for error answers an operation declares itself."""
    return {code: error_response(code) for code in codes}


def error_response(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS.get(code, "Error"),
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if code in (429, 503):
        response["headers"] = RETRY_AFTER
    return response
