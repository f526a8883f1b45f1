"""Row ids and the page cursors made of them, checked before they reach the store."""

from __future__ import annotations

from failcast.errors import ValidationFailed

# The largest row id (PostgreSQL's integer primary keys); larger ones are input errors, not
# overflows in the driver.
MAX_ROW_ID = 2_147_483_647
# The largest value of a BIGINT column (times in milliseconds).
MAX_BIGINT = 2**63 - 1


def row_id(text: str, field: str = "cursor") -> int:
    """The row id a cursor (or other id text) names, or a 422 naming `field`."""
    if not (text.isascii() and text.isdigit() and len(text) <= 10) or int(text) > MAX_ROW_ID:
        raise ValidationFailed([{"field": field, "msg": "not a cursor from this API"}])
    return int(text)
