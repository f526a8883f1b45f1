"""Alertmanager's timers as notify.grouping's pure rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from failcast.notify.grouping import dedup_key, digest, should_send
from failcast.notify.routing import DEFAULT_ROUTE

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
ROUTE = replace(
    DEFAULT_ROUTE, receivers=("ops",), repeat_interval_ms=4 * 3_600_000, send_resolved=False
)


@pytest.mark.parametrize(
    ("status", "changed", "last_ago", "resend", "expected"),
    [
        ("firing", True, None, None, True),  # the first notification of a firing group
        ("acknowledged", True, None, None, False),  # nobody was told, nothing to take back
        ("firing", True, timedelta(minutes=5), None, True),  # an alert joined
        ("resolved", True, timedelta(minutes=5), None, False),  # this route keeps resolves
        ("firing", False, timedelta(hours=3), None, False),  # unchanged, repeat not yet due
        ("firing", False, timedelta(hours=4), None, True),  # repeat_interval passed
        ("acknowledged", False, timedelta(hours=9), None, False),  # never repeated
        # An Alertmanager channel re-sends every `resend`, acknowledged too, and resolves.
        ("acknowledged", False, timedelta(minutes=5), timedelta(minutes=5), True),
        ("firing", False, timedelta(minutes=1), timedelta(minutes=5), False),
        ("resolved", True, timedelta(minutes=1), timedelta(minutes=5), True),
    ],
)
def test_a_group_notifies_as_alertmanagers_timers_say(
    status: str, changed: bool, last_ago: timedelta | None, resend: timedelta | None, expected: bool
) -> None:
    last = None if last_ago is None else NOW - last_ago
    assert (
        should_send(
            status=status,  # type: ignore[arg-type]
            changed=changed,
            last_notified_at=last,
            now=NOW,
            route=ROUTE,
            resend=resend,
        )
        is expected
    )


def test_digests_and_dedup_keys_are_stable_and_distinct() -> None:
    assert digest("firing", [2, 1], []) == digest("firing", [1, 2], [])
    assert digest("firing", [1, 2], []) != digest("acknowledged", [1, 2], [])
    assert dedup_key(1, "0", "{}") == dedup_key(1, "0", "{}")
    assert dedup_key(1, "0", "{}") != dedup_key(2, "0", "{}")
