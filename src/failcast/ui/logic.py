"""Pure data shaping for the dashboard: API answers in, figures and rows for the pages out.

Nothing here does I/O, so every rule a page applies (which component explains a score, how
alerts are ordered, how an error budget burned down, what the graph highlights) is tested with
plain values.
"""

from __future__ import annotations

import math
import shlex
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from failcast.health.risk import NO_HEALTH_DATA

# Re-exported: the pages format values and factors through `logic`.
from failcast.readable import describe_factor as describe_factor
from failcast.readable import fmt_value as fmt_value
from failcast.readable import metric_label as metric_label
from failcast.readable import unit_of as unit_of

JSON = Any

SEVERITY_RANK: dict[str, int] = {"critical": 0, "page": 0, "high": 1, "warning": 2, "ticket": 2,
                                 "medium": 2, "low": 3, "info": 4}  # fmt: skip
STATUS_RANK: dict[str, int] = {"critical": 0, "warning": 1, "unknown": 2, "ok": 3}
STATE_RANK: dict[str, int] = {"firing": 0, "pending": 1, "acknowledged": 2, "resolved": 3}
OPEN = ("pending", "firing", "acknowledged")
RISK_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}


# ---------------------------------------------------------------- metrics


def series_points(
    payload: Mapping[str, Any] | None, service: str | None = None
) -> list[tuple[float, float]]:
    """Points of a /metrics answer, summed over series with the same timestamp.

    Summing is right for the additive figures it is used for (cost per hour, requests); a
    single-series answer comes back unchanged.
    """
    if not payload:
        return []
    totals: dict[float, float] = defaultdict(float)
    for series in payload.get("series") or []:
        if service is not None and series.get("service") != service:
            continue
        for ts, value in series.get("points") or []:
            totals[float(ts)] += float(value)
    return sorted(totals.items())


def points_by_label(payload: Mapping[str, Any] | None, label: str) -> dict[str, list[Any]]:
    """Points of each series of a /metrics answer keyed by one of its labels (the
    `anomaly_score` series carry the scored metric's name in `metric`)."""
    out: dict[str, list[Any]] = {}
    for series in (payload or {}).get("series") or []:
        key = (series.get("labels") or {}).get(label)
        if key:
            out.setdefault(str(key), []).extend(series.get("points") or [])
    return out


def anomalies(
    points: Sequence[tuple[float, float]], scores: Iterable[Sequence[float]], threshold: float
) -> list[tuple[float, float]]:
    """Points of a metric at the times its anomaly score reached `threshold`."""
    flagged = {float(s[0]) for s in scores if float(s[1]) >= threshold}
    return [(t, v) for t, v in points if t in flagged]


# ---------------------------------------------------------------- health


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


# ---------------------------------------------------------------- predictions


@dataclass(frozen=True)
class Prediction:
    """One service's failure probability at one horizon, with its explanation."""

    service: str
    horizon_hours: int
    probability: float
    failure_type: str | None = None
    factors: tuple[str, ...] = ()
    root_cause: str | None = None
    model_version: int | None = None
    ts: str = ""
    alarm: bool = False


def root_cause_text(root_cause: Mapping[str, Any] | None) -> str | None:
    """The root-cause verdict as one sentence: which service and metric, and why."""
    if not root_cause:
        return None
    where = str(root_cause.get("service") or "")
    if root_cause.get("metric"):
        where += f" ({root_cause['metric']})"
    reason = str(root_cause.get("reason") or "").strip()
    verdict = str(root_cause.get("verdict") or "").replace("_", " ")
    text = ": ".join(part for part in (where.strip(), reason) if part)
    return f"{text} [{verdict}]" if verdict and text else text or verdict or None


def parse_predictions(payload: JSON) -> list[Prediction]:
    """Predictions of a /predictions answer (`{"items": [...]}`)."""
    out = []
    for item in (payload or {}).get("items") or []:
        probability = float(item["probability"])
        if not math.isfinite(probability):
            continue
        factors = tuple(
            describe_factor(f) for f in item.get("factors") or [] if isinstance(f, Mapping)
        )
        out.append(
            Prediction(
                service=str(item["service"]),
                horizon_hours=int(item["horizon_hours"]),
                probability=min(1.0, max(0.0, probability)),
                failure_type=item.get("failure_type") or None,
                factors=factors,
                root_cause=root_cause_text(item.get("root_cause")),
                model_version=item.get("model_version"),
                ts=str(item.get("ts") or ""),
                alarm=bool(item.get("alarm")),
            )
        )
    return out


def probabilities_by_service(predictions: Iterable[Prediction]) -> dict[str, dict[int, float]]:
    """{service: {horizon: highest probability}} for the horizons the risk rules know."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for p in predictions:
        if p.horizon_hours in (24, 48, 72):
            out[p.service][p.horizon_hours] = max(
                p.probability, out[p.service].get(p.horizon_hours, 0.0)
            )
    return dict(out)


def org_failure_probability(by_service: Mapping[str, Mapping[int, float]], horizon: int) -> float:
    """P(at least one service fails within `horizon` h), taking services as independent."""
    survive = 1.0
    for horizons in by_service.values():
        survive *= 1.0 - horizons.get(horizon, 0.0)
    return 1.0 - survive


# ---------------------------------------------------------------- cost


@dataclass(frozen=True)
class CostForecast:
    """Hourly cost so far and a linear-trend forecast with a 95 % band."""

    history: list[tuple[float, float]]
    forecast: list[tuple[float, float]]
    lower: list[tuple[float, float]]
    upper: list[tuple[float, float]]
    current_per_hour: float
    projected_month: float


HOURS_PER_MONTH = 730.0


def cost_forecast(
    history: Sequence[tuple[float, float]], horizon_s: float = 24 * 3600.0, steps: int = 24
) -> CostForecast | None:
    """Least-squares line through the history, extended `horizon_s` ahead.

    The band is +-1.96 residual standard deviations, widened by the line's own uncertainty
    at each point; with fewer than three points there is no forecast.
    """
    if len(history) < 3:
        return None
    t = np.array([p[0] for p in history], dtype=float)
    y = np.array([p[1] for p in history], dtype=float)
    t0 = t[-1]
    x = t - t0
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    n = len(x)
    sigma = float(np.sqrt(np.sum(residual**2) / max(n - 2, 1)))
    mean_x = float(np.mean(x))
    sxx = float(np.sum((x - mean_x) ** 2)) or 1.0
    ahead = np.linspace(0.0, horizon_s, steps + 1)
    centre = slope * ahead + intercept
    spread = 1.96 * sigma * np.sqrt(1.0 + 1.0 / n + (ahead - mean_x) ** 2 / sxx)
    forecast = [(float(t0 + a), float(max(c, 0.0))) for a, c in zip(ahead, centre, strict=True)]
    lower = [
        (float(t0 + a), float(max(c - s, 0.0)))
        for a, c, s in zip(ahead, centre, spread, strict=True)
    ]
    upper = [(float(t0 + a), float(c + s)) for a, c, s in zip(ahead, centre, spread, strict=True)]
    current = float(y[-1])
    return CostForecast(list(history), forecast, lower, upper, current, current * HOURS_PER_MONTH)


# ---------------------------------------------------------------- alerts


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


def parse_alerts(payload: JSON) -> list[AlertRow]:
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


# The failure model re-scores every service every 15 minutes, and a service that changed
# sharply at once (predict/tasks.py); a prediction older than this missed its slot and may no
# longer describe the service.
STALE_PREDICTION_S = 20 * 60


def ago(seconds: float) -> str:
    """An age as a person says it: `just now`, `4 min ago`, `2 h 5 min ago`."""
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min ago" if minutes else f"{hours} h ago"
    return f"{hours // 24} days ago"


def prediction_age(stamp: str, now: float) -> tuple[str, bool]:
    """`scored 4 min ago` for a prediction made at `stamp`, and whether it is stale."""
    try:
        made = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "scored at an unknown time", True
    if made.tzinfo is None:
        made = made.replace(tzinfo=UTC)
    age = max(0.0, now - made.timestamp())
    stale = age > STALE_PREDICTION_S
    text = f"scored {ago(age)}"
    return (f"{text} · stale: scoring runs every 15 min" if stale else text), stale


def when(stamp: str | None) -> str:
    """An API timestamp as `YYYY-MM-DD HH:MM:SS` (UTC), or a dash."""
    return str(stamp)[:19].replace("T", " ") if stamp else "—"


# ---------------------------------------------------------------- SLOs


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


# ---------------------------------------------------------------- topology


@dataclass(frozen=True)
class TopologyView:
    """Everything the topology page draws: the health graph, each service's cascade risk and
    the critical path, as the topology API answered them."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    cascade: dict[str, float]
    path: tuple[str, ...]


def topology_view(
    graph: Mapping[str, Any],
    cascade: Mapping[str, Any] | None = None,
    critical: Mapping[str, Any] | None = None,
) -> TopologyView:
    risk = {
        str(item["service"]): float(item["probability"])
        for item in (cascade or {}).get("services") or []
    }
    return TopologyView(
        nodes=list(graph.get("nodes") or []),
        edges=list(graph.get("edges") or []),
        cascade=risk,
        path=tuple((critical or {}).get("path") or ()),
    )


# ---------------------------------------------------------------- onboarding


def ingest_curl(public_url: str, api_key: str, service: str = "checkout") -> str:
    """A curl command that sends one sample with the caller's own key."""
    body = (
        '{"samples": [{"service": "' + service + '", "metric": "latency_p99_ms", '
        '"value": 42.0, "ts": "\'"$(date +%s)"\'"}]}'
    )
    return (
        f"curl -X POST {shlex.quote(public_url.rstrip('/') + '/api/v1/metrics')} \\\n"
        f"  -H {shlex.quote('Authorization: Bearer ' + api_key)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'"
    )


def ingest_python(public_url: str, api_key: str, service: str = "checkout") -> str:
    """The same sample sent from Python with httpx."""
    return (
        "import time, httpx\n\n"
        "httpx.post(\n"
        f"    {public_url.rstrip('/') + '/api/v1/metrics'!r},\n"
        f"    headers={{'Authorization': 'Bearer {api_key}'}},\n"
        f"    json={{'samples': [{{'service': {service!r}, 'metric': 'latency_p99_ms',\n"
        "                         'value': 42.0, 'ts': time.time()}]},\n"
        ").raise_for_status()"
    )


def fmt_pct(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}%}"


def fmt_money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"


def fmt_num(value: Any) -> str:
    """A figure as a person reads it: floats to 3 significant digits, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else "—"
    return str(value)


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
