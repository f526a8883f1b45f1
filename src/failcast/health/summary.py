"""A few plain sentences for an executive: overall health, weakest services, risks, budgets."""

from __future__ import annotations

from collections.abc import Sequence

from failcast.health.org import OrgHealth
from failcast.health.risk import RiskAssessment
from failcast.health.score import ServiceHealth, describe_value
from failcast.predict.risk import LEVELS
from failcast.slo.alerts import SloStatus

LOW_BUDGET = 0.25


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _weak_point(health: ServiceHealth) -> str:
    score = f"{health.score:.0f}" if health.score is not None else "?"
    component = health.worst_component()
    if component is None or component.status == "ok":
        return f"{health.service} ({score})"
    metric = min(component.metrics, key=lambda m: m.score)
    return f"{health.service} ({score}, {describe_value(metric.metric, metric.value)})"


def _health_sentence(org_name: str, org: OrgHealth) -> str:
    total = sum(org.counts.values())
    if org.score is None:
        return f"{org_name} has no health data yet for its {_plural(total, 'service')}."
    parts = [f"{org.counts['ok']} healthy"]
    parts += [f"{org.counts[s]} {s}" for s in ("warning", "critical", "unknown") if org.counts[s]]
    return (
        f"{org_name} health is {org.score:.0f}/100 ({org.status}) across"
        f" {_plural(total, 'service')}: {', '.join(parts)}."
    )


def _weakest_sentence(org: OrgHealth, limit: int) -> str | None:
    troubled = sorted(
        (h for h in org.services if h.status in ("warning", "critical")),
        key=lambda h: (h.status != "critical", h.order()),
    )[:limit]
    if not troubled:
        return None
    return "Weakest: " + "; ".join(_weak_point(h) for h in troubled) + "."


def _risk_sentence(risks: Sequence[RiskAssessment], limit: int) -> str:
    serious = sorted(
        (r for r in risks if r.level in ("high", "critical")),
        key=lambda r: (-LEVELS.index(r.level), r.service),
    )
    if not serious:
        return "No service is at high risk of failing."
    items = []
    for risk in serious[:limit]:
        reasons = risk.reasons()[:2]
        items.append(f"{risk.service} is {risk.level} ({'; '.join(reasons)})")
    more = len(serious) - limit
    tail = f", and {_plural(more, 'more service')} at high risk" if more > 0 else ""
    return "Main risks: " + ", ".join(items) + tail + "."


def _budget_sentence(slos: Sequence[SloStatus]) -> str | None:
    if not slos:
        return None
    exhausted = sorted((s for s in slos if s.budget.exhausted), key=lambda s: s.budget.remaining)
    low = sorted(
        (s for s in slos if not s.budget.exhausted and s.budget.remaining < LOW_BUDGET),
        key=lambda s: s.budget.remaining,
    )
    paging = [s.slo.name for s in slos if s.severity == "page"]
    parts = []
    if exhausted:
        names = ", ".join(s.slo.name for s in exhausted)
        parts.append(f"{len(exhausted)} of {len(slos)} exhausted ({names})")
    if low:
        names = ", ".join(f"{s.slo.name} {s.budget.remaining:.0%}" for s in low)
        parts.append(f"{len(low)} below {LOW_BUDGET:.0%} ({names})")
    if not parts:
        least = min(s.budget.remaining for s in slos)
        parts.append(f"all {_plural(len(slos), 'SLO')} have at least {least:.0%} left")
    sentence = "Error budgets: " + "; ".join(parts) + "."
    if paging:
        sentence += f" Burning fast enough to page: {', '.join(sorted(paging))}."
    return sentence


def executive_summary(
    org_name: str,
    org: OrgHealth,
    risks: Sequence[RiskAssessment] = (),
    slos: Sequence[SloStatus] = (),
    *,
    limit: int = 3,
) -> str:
    """Plain-text summary in a few sentences, generated from the data alone."""
    sentences = [
        _health_sentence(org_name, org),
        _weakest_sentence(org, limit),
        _risk_sentence(risks, limit),
        _budget_sentence(slos),
    ]
    return " ".join(s for s in sentences if s)
