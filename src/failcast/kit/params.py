"""Query parameters every listing shares: times, ranges and steps, and opaque page cursors,
each refused with a 422 that names the parameter."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from failcast.db.cursors import MAX_BIGINT
from failcast.errors import ValidationFailed
from failcast.timeutil import now_ms, parse_duration_ms, parse_ts


def problem(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "msg": msg}])


def parse_time_param(field: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return parse_ts(value)
    except ValueError as exc:
        raise problem(field, str(exc)) from None


@dataclass(frozen=True, slots=True)
class TimeRange:
    start_ms: int
    end_ms: int
    step_ms: int | None


def parse_range(
    start: str | None, end: str | None, step: str | None, default_span_ms: int = 3_600_000
) -> TimeRange:
    end_ms = parse_time_param("end", end, now_ms())
    start_ms = parse_time_param("start", start, end_ms - default_span_ms)
    if start_ms >= end_ms:
        raise problem("start", "start must be before end")
    step_ms = None
    if step:
        try:
            step_ms = parse_duration_ms(step)
        except ValueError as exc:
            raise problem("step", str(exc)) from None
    return TimeRange(start_ms, end_ms, step_ms)


def encode_cursor(ts: int, id_: int) -> str:
    return base64.urlsafe_b64encode(f"{ts}:{id_}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        ts, id_ = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        decoded = int(ts), int(id_)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise problem("cursor", "not a cursor returned by this endpoint") from None
    if not (abs(decoded[0]) <= MAX_BIGINT and 0 <= decoded[1] <= MAX_BIGINT):
        raise problem("cursor", "not a cursor returned by this endpoint")
    return decoded
