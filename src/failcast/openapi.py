"""The OpenAPI document says every error an operation can answer, in the one error shape.

FastAPI documents the success and, for operations with parameters, a 422 in its own shape.
Failcast's errors all have `{"error", "detail"}` (errors.py), and which ones an operation can
answer follows from how it is built, so they are added from the route table:

| answer | operations |
|---|---|
| 401, 403 | those that authenticate the caller |
| 404 | those with a path parameter (an id that does not exist, or is another org's) |
| 413 | those that take a body (`max_request_body_bytes`, or `max_body_bytes` on bulk routes) |
| 422 | those with parameters or a body |
| 429 | those behind a request rate limit, and the ingest routes (new series a minute) |
| 503 | those that use the store (busy, with `Retry-After`) |

Anything else an operation answers (409 on a name already taken, say) it declares itself
with `errors(...)` in its route decorator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from failcast.auth.principal import current_principal
from failcast.deps import get_session
from failcast.errors import ErrorBody
from failcast.kit.responses import error_response
from failcast.ops.body_limit import BULK_MARK

_BODY_METHODS = {"post", "put", "patch"}
# Dependencies that authenticate by themselves instead of through current_principal.
_AUTHENTICATORS = {"failcast.integrations.auth.ingest_principal"}
_RATE_LIMITED = "rate_limited.<locals>.dependency"
_INGEST = {("post", "/api/v1/metrics"), ("post", "/api/v1/logs")}


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _name(call: Callable[..., Any]) -> str:
    return f"{getattr(call, '__module__', '')}.{getattr(call, '__qualname__', '')}"


def _answers(route: Any, method: str, operation: dict[str, Any]) -> set[int]:
    calls = list(_calls(route.dependant))
    names = {_name(call) for call in calls}
    codes: set[int] = set()
    if current_principal in calls or names & _AUTHENTICATORS:
        codes |= {401, 403}
    if route.dependant.path_params:
        codes.add(404)
    takes_body = method in _BODY_METHODS and (
        "requestBody" in operation or getattr(route.endpoint, BULK_MARK, False)
    )
    if takes_body:
        codes.add(413)
    if operation.get("parameters") or takes_body:
        codes.add(422)
    if any(name.endswith(_RATE_LIMITED) for name in names) or (method, route.path) in _INGEST:
        codes.add(429)
    if get_session in calls:
        codes.add(503)
    return codes


def document_errors(app: FastAPI, schema: dict[str, Any]) -> None:
    """Add the error answers of every operation to `schema` (the app's OpenAPI document)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for context in iter_route_contexts(app.router.routes):
        if getattr(context, "dependant", None) is None or context.path not in schema["paths"]:
            continue
        for method in sorted(context.methods or ()):
            operation = schema["paths"][context.path].get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in _answers(context, method.lower(), operation):
                declared = responses.get(str(code))
                if declared is None or "content" not in declared:
                    merged = error_response(code)
                    if declared and declared.get("description"):
                        merged["description"] = declared["description"]
                    responses[str(code)] = merged
            # FastAPI's own 422 shape is not what Failcast answers.
            if "422" in responses:
                responses["422"] = error_response(422)
            operation["responses"] = dict(sorted(responses.items()))
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


def install_openapi(app: FastAPI) -> None:
    """Serve the document with every operation's error answers."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(app, build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
