"""Reading raw request bodies (YAML, CSV) under the configured size limit."""

from __future__ import annotations

from fastapi import Request

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
