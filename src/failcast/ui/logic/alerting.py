"""Alerts as the feed and the alerts page list them, in the order they need attention."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SEVERITY_RANK: dict[str, int] = {"critical": 0, "page": 0, "high": 1, "warning": 2, "ticket": 2,
                                 "medium": 2, "low": 3, "info": 4}  # fmt: skip
STATE_RANK: dict[str, int] = {"firing": 0, "pending": 1, "acknowledged": 2, "resolved": 3}
OPEN = ("pending", "firing", "acknowledged")


@dataclass(frozen=True)
class AlertRow:
    """An alert as the feed and the alerts page show it."""

    id: int
    title: str
    severity: str
    state: str
    service: str | None
    started_at: str
    assignee: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN


def parse_alerts(payload: Any) -> list[AlertRow]:
    """Alerts of an /alerts answer (`{"items": [...], "next_cursor": ...}`)."""
    return [
        AlertRow(
            id=int(item["id"]),
            title=str(item["title"]),
            severity=str(item["severity"]).lower(),
            state=str(item["state"]),
            service=item.get("service"),
            started_at=str(item["started_at"]),
            assignee=item.get("assignee"),
            raw=item,
        )
        for item in (payload or {}).get("items") or []
    ]


def by_priority(alerts: Iterable[AlertRow]) -> list[AlertRow]:
    """Firing before pending before acknowledged before resolved; then most severe; then
    newest."""
    ordered = sorted(alerts, key=lambda a: a.started_at, reverse=True)
    return sorted(
        ordered, key=lambda a: (STATE_RANK.get(a.state, 1), SEVERITY_RANK.get(a.severity, 5))
    )
