"""Timestamps at the edges: RFC 3339 text or Unix seconds in, epoch milliseconds inside."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
# The instants a timestamp may name: those a datetime can hold (years 1 to 9999). Anything
# further (1e300, inf) is an input error, not an overflow deep in the store.
MIN_TS_MS = int(datetime(1, 1, 1, tzinfo=UTC).timestamp() * 1000)
MAX_TS_MS = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
# The longest duration accepted: a hundred years.
MAX_DURATION_MS = 100 * 365 * 86_400_000


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def parse_ts(value: object) -> int:
    """Epoch milliseconds from Unix seconds (int or float) or RFC 3339 text with a zone."""
    if isinstance(value, bool):
        raise ValueError("timestamp must be RFC 3339 text or Unix seconds")
    if isinstance(value, int | float):
        return _seconds_to_ms(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            pass
        else:
            return _seconds_to_ms(seconds)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from None
        if parsed.tzinfo is None:
            raise ValueError("timestamp needs a time zone offset, such as Z or +02:00")
        return round(parsed.timestamp() * 1000)
    raise ValueError("timestamp must be RFC 3339 text or Unix seconds")


def _seconds_to_ms(seconds: float) -> int:
    if not math.isfinite(seconds):
        raise ValueError("timestamp must be finite")
    ms = seconds * 1000
    if not MIN_TS_MS <= ms <= MAX_TS_MS:
        raise ValueError("timestamp is outside the years 1 to 9999")
    return round(ms)


def parse_duration_ms(value: str) -> int:
    """Milliseconds from `90`, `90s`, `5m`, `1h`, `1d`, `1w` (a bare number is seconds)."""
    match = _DURATION.match(value.strip())
    if not match:
        raise ValueError(f"not a duration: {value!r} (try 60, 60s, 5m, 1h)")
    amount, unit = float(match.group(1)), match.group(2) or "s"
    exact = amount * _UNIT_MS[unit]
    if exact > MAX_DURATION_MS:  # inf included
        raise ValueError("duration is longer than a hundred years")
    ms = round(exact)
    if ms <= 0:
        raise ValueError("duration must be positive")
    return ms


def datetime_to_ms(at: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return int(at.timestamp() * 1000)


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def ms_to_rfc3339(ms: int) -> str:
    return ms_to_datetime(ms).isoformat().replace("+00:00", "Z")
