"""Durations as people write them in rules and routing trees (`30s`, `5m`, `1h`), validated
as text so they read back as written."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from failcast.timeutil import parse_duration_ms


def _duration(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("a duration is text such as 30s, 5m or 1h")
    if isinstance(value, int | float):
        if value == 0:
            return "0s"
        value = f"{value}s"
    if not isinstance(value, str):
        raise ValueError("a duration is text such as 30s, 5m or 1h")
    text = value.strip()
    if text in ("0", "0s", "0m", "0h"):
        return "0s"
    parse_duration_ms(text)
    return text


Duration = Annotated[str, BeforeValidator(_duration)]


def duration_ms(value: str) -> int:
    """Milliseconds of a validated duration; `0s` is zero."""
    return 0 if value == "0s" else parse_duration_ms(value)
