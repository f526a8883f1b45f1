"""SLO error budgets: how one burned down, and how worried to be about it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def budget_points(history: Sequence[tuple[float, Mapping[str, Any]]]) -> list[tuple[float, float]]:
    """[(unix seconds, remaining budget share)] of one SLO from its status at several times;
    times without data are left out rather than drawn as a full budget."""
    out = []
    for ts, status in sorted(history, key=lambda h: h[0]):
        budget = status.get("budget")
        if status.get("data") == "ok" and isinstance(budget, Mapping):
            out.append((ts, float(budget["remaining"])))
    return out


def burn_status(slo: Mapping[str, Any]) -> tuple[str, str]:
    """(colour status, text) of an SLO status from its alert severity and remaining budget."""
    if slo.get("data") != "ok":
        return "unknown", str(slo.get("problem") or "no data yet")
    budget = slo.get("budget") or {}
    remaining = budget.get("remaining")
    severity = slo.get("severity")
    if severity == "page":
        return "critical", "burning fast: page"
    if budget.get("exhausted") or (isinstance(remaining, int | float) and remaining <= 0):
        return "critical", "budget exhausted"
    if severity == "ticket":
        return "warning", "burning: ticket"
    if isinstance(remaining, int | float) and remaining < 0.25:
        return "warning", "budget low"
    return "ok", "within budget"
