"""The services' health scores as the overview and service pages show them, and what
explains, caps or leaves out part of each score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from failcast.health.risk import NO_HEALTH_DATA
from failcast.readable import fmt_value, metric_label, unit_of

STATUS_RANK: dict[str, int] = {"critical": 0, "warning": 1, "unknown": 2, "ok": 3}
RISK_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class ServiceRow:
    """One service as the overview grid shows it, from the health API."""

    id: int
    name: str
    kind: str
    tier: int
    team: str | None
    score: float | None
    status: str
    reason: str


def worst_reason(health: Mapping[str, Any]) -> str:
    """The metric that pulls a service's score down most, as `metric value (status)`."""
    components = health.get("components") or []
    if not components:
        return "no health metrics yet"
    worst = min(components, key=lambda c: float(c["score"]))
    metrics = worst.get("metrics") or []
    if not metrics:
        return f"{worst['component']} ({worst['status']})"
    metric = min(metrics, key=lambda m: float(m["score"]))
    return f"{metric['metric']} {float(metric['value']):.3g} ({worst['status']})"


def service_rows(
    health: Mapping[str, Any], catalogue: Sequence[Mapping[str, Any]] = ()
) -> list[ServiceRow]:
    """Every service of a health answer, worst first; the team comes from the catalogue."""
    teams = {str(s["name"]): s.get("team") for s in catalogue}
    rows = [
        ServiceRow(
            id=int(s["id"]),
            name=str(s["service"]),
            kind=str(s["kind"]),
            tier=int(s["tier"]),
            team=teams.get(str(s["service"])),
            score=None if s.get("score") is None else float(s["score"]),
            status=str(s["status"]),
            reason=worst_reason(s),
        )
        for s in health.get("services") or []
    ]
    return sorted(
        rows,
        key=lambda r: (
            STATUS_RANK.get(r.status, 2),
            r.score if r.score is not None else 101.0,
            r.name,
        ),
    )


# The metrics the health score reads, in the order the first-run hints name them.
HEALTH_METRIC_HINT = "latency_p99_ms, error_rate, cpu_pct, memory_pct"


def has_risk_evidence(service: Mapping[str, Any]) -> bool:
    """Whether a service's risk (from `GET /api/v1/risk`) rests on any data: a health score,
    a failure prediction or an SLO. Without any, its "low" means unknown, not safe."""
    return any(
        signal["signal"] != "health" or signal["detail"] != NO_HEALTH_DATA
        for signal in service.get("signals", [])
    )


def health_rows(health: Mapping[str, Any]) -> list[dict[str, str]]:
    """A service's health calculation as table rows: one per metric, with its component's
    share of the score, the value with its unit, the metric's score and status."""
    rows = []
    for component in health.get("components") or []:
        share = fmt_value(float(component.get("share") or 0.0), "fraction")
        for metric in component.get("metrics") or []:
            name = str(metric["metric"])
            rows.append(
                {
                    "component": str(component["component"]).replace("_", " "),
                    "weight": share,
                    "metric": metric_label(name),
                    "value": fmt_value(float(metric["value"]), unit_of(name)),
                    "score": f"{float(metric['score']):.0f}",
                    "status": str(metric["status"]),
                }
            )
    return rows


def health_cap(health: Mapping[str, Any]) -> str:
    """Why a service's score sits below its components' weighted mean (its status caps it at
    79 for warning, 59 for critical), in one line, or "" when it does not."""
    score, mean = health.get("score"), health.get("weighted_mean")
    if score is None or mean is None or float(score) >= float(mean):
        return ""
    status = str(health["status"])
    names = [
        str(c["component"]).replace("_", " ")
        for c in health.get("components") or []
        if c.get("status") == status
    ]
    if names:
        why = f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} {status}"
    else:
        why = f"the score is in the {status} band"
    return f"Weighted mean {float(mean):.0f}, capped at {float(score):.0f} because {why}."


def health_left_out(health: Mapping[str, Any]) -> str:
    """The components the score leaves out, and why, in one line (or "")."""
    parts = [
        f"{str(s['component']).replace('_', ' ')} ({s['reason']})"
        for s in health.get("skipped") or []
    ]
    return "Left out: " + "; ".join(parts) if parts else ""
