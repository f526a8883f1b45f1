"""Reading request bodies under the configured limits: raw text (YAML, CSV), and JSON batches
refused before validation when they hold too many items."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from pydantic_core import from_json

from failcast.config import Settings
from failcast.errors import PayloadTooLarge, ValidationFailed


async def read_text(request: Request, limit: int, encoding: str = "utf-8") -> str:
    """The body as text, or 413 above `limit` bytes, or 422 if it is not valid text."""
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        raise ValidationFailed([{"field": None, "msg": "the body is not UTF-8 text"}]) from None


async def parse_body(request: Request, settings: Settings, items: str) -> Any:
    """The JSON body, after the size limits: bytes first, then the number of items."""
    return parse_json(await read_body(request, settings), settings, items)


async def read_body(request: Request, settings: Settings) -> bytes:
    body = await request.body()
    if len(body) > settings.max_body_bytes:
        raise PayloadTooLarge(f"request body exceeds {settings.max_body_bytes} bytes")
    return body


def parse_json(body: bytes, settings: Settings, items: str) -> Any:
    """The parsed body, refused when it holds more than the accepted number of `items`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    try:
        # orjson refuses bare NaN and Infinity tokens, which some clients send; this parser
        # accepts them so that validation can name the offending sample.
        data = from_json(body, allow_inf_nan=True) if data is None else data
    except ValueError as exc:
        raise ValidationFailed([{"field": None, "msg": f"body is not valid JSON: {exc}"}]) from None
    if isinstance(data, dict) and isinstance(data.get(items), list):
        count = len(data[items])
        if count > settings.max_batch_samples:
            raise PayloadTooLarge(
                f"batch holds {count} {items}; at most {settings.max_batch_samples} are accepted"
            )
    return data
