from __future__ import annotations

import numpy as np
import pytest

from failcast.health import (
    OrgAggregation,
    ServiceHealth,
    assess_risk,
    executive_summary,
    score_org,
    score_service,
)
from failcast.slo import EventsSli, MetricRef, SloDefinition, evaluate_slo, events_from_counts

MINUTE = 60_000


def fixed(service: str, score: float | None, status: str, tier: int) -> ServiceHealth:
    return ServiceHealth.model_validate(
        {
            "service": service,
            "kind": "microservice",
            "tier": tier,
            "score": score,
            "status": status,
            "components": [],
            "skipped": [],
        }
    )


def test_org_score_is_tier_weighted_mean_less_penalty() -> None:
    fleet = [
        fixed("a", 95, "ok", 1),
        fixed("b", 35, "critical", 1),
        fixed("c", 90, "ok", 2),
        fixed("d", 70, "warning", 3),
        fixed("e", None, "unknown", 2),
    ]
    org = score_org(fleet)
    # mean (3*95 + 3*35 + 2*90 + 1*70) / 9 = 640 / 9; penalty 15 * 3/3 + 5 * 1/3
    assert org.mean == pytest.approx(640 / 9)
    assert org.penalty == pytest.approx(15 + 5 / 3)
    assert org.score == pytest.approx(640 / 9 - 15 - 5 / 3)
    assert org.status == "critical"  # 54.4 is below 60
    assert [h.service for h in org.services] == ["b", "d", "c", "a", "e"]
    assert org.counts == {"ok": 2, "warning": 1, "critical": 1, "unknown": 1}
    assert org.explain() == "tier-weighted mean 71.1 - penalty 16.7 = 54.4 (critical)"


def test_one_critical_service_shows_in_a_large_healthy_fleet() -> None:
    fleet = [fixed(f"s{i}", 100, "ok", 2) for i in range(20)] + [fixed("bad", 30, "critical", 2)]
    org = score_org(fleet)
    assert org.mean == pytest.approx(2030 / 21)
    assert org.status == "warning"  # 2030 / 21 - 15 = 81.7 alone would read ok
    assert org.score == 79.0  # so the score is capped below the ok cut
    assert org.explain() == "tier-weighted mean 96.7 - penalty 15.0 = 81.7, capped at 79 (warning)"


def test_services_capped_at_one_score_keep_the_order_of_their_weighted_means() -> None:
    # Both are critical and capped at 59; b's weighted mean (67.3) is below a's (68.7).
    a = score_service("a", "microservice", {"latency_p99_ms": 40, "error_rate": 0.06})
    b = score_service("b", "microservice", {"latency_p99_ms": 40, "error_rate": 0.07})
    assert (a.score, b.score) == (59.0, 59.0)
    assert [h.service for h in score_org([a, b]).services] == ["b", "a"]


def test_penalty_is_capped() -> None:
    fleet = [fixed(f"s{i}", 50, "critical", 1) for i in range(10)]
    org = score_org(fleet, OrgAggregation(max_penalty=40))
    assert org.penalty == 40 and org.score == pytest.approx(10.0)


def test_org_without_data_is_unknown() -> None:
    org = score_org([fixed("a", None, "unknown", 1)])
    assert (org.score, org.status) == (None, "unknown")


def test_risk_from_health_alone_follows_status() -> None:
    ok = score_service("a", "microservice", {"latency_p99_ms": 40, "error_rate": 0.001})
    assert assess_risk("a", health=ok).level == "low"
    warning = score_service("a", "microservice", {"latency_p99_ms": 120})
    assert assess_risk("a", health=warning).level == "medium"
    critical = score_service("a", "microservice", {"error_rate": 0.06})
    assert critical.score is not None and critical.score < 40
    assert assess_risk("a", health=critical).level == "critical"


@pytest.mark.parametrize(
    ("probabilities", "level"),
    [
        ({24: 0.05, 48: 0.1, 72: 0.2}, "low"),
        ({24: 0.10}, "medium"),
        ({24: 0.25}, "high"),
        ({24: 0.50}, "critical"),
        ({48: 0.30}, "medium"),
        ({48: 0.50}, "high"),
        ({72: 0.49}, "low"),
        ({72: 0.50}, "medium"),
    ],
)
def test_risk_from_failure_probability(probabilities: dict[int, float], level: str) -> None:
    assert assess_risk("a", failure_probability=probabilities).level == level


def test_two_high_sources_corroborate_to_critical_but_one_model_does_not() -> None:
    # 24 h and 48 h both high come from the same predictor: still high.
    same_model = assess_risk("a", failure_probability={24: 0.3, 48: 0.6})
    assert (same_model.level, same_model.corroborated) == ("high", False)
    critical_health = score_service("a", "microservice", {"error_rate": 0.045})
    assert critical_health.status == "critical" and (critical_health.score or 0) >= 40
    both = assess_risk("a", health=critical_health, failure_probability={24: 0.3})
    assert (both.level, both.corroborated) == ("critical", True)


def test_risk_rejects_unknown_horizons() -> None:
    with pytest.raises(ValueError, match="12 h horizon"):
        assess_risk("a", failure_probability={12: 0.5})


def _slo_status(bad_per_minute: float, minutes: int = 4320) -> object:
    slo = SloDefinition(
        name="checkout-availability",
        service="checkout",
        objective=0.999,
        sli=EventsSli(bad=MetricRef(query="errors"), total=MetricRef(query="requests")),
    )
    ts = np.arange(minutes, dtype=np.int64) * MINUTE
    bad = np.full(minutes, bad_per_minute)
    series = events_from_counts(ts, np.full(minutes, 1000.0), bad=bad)
    return evaluate_slo(slo, series, int(ts[-1]))


def test_slo_burn_sets_risk() -> None:
    paging = _slo_status(20.0)  # burn 20 for three days: pages, budget long gone
    risk = assess_risk("checkout", slos=[paging])  # type: ignore[list-item]
    assert risk.level == "critical"
    assert risk.signals[0].detail == (
        "SLO checkout-availability: budget exhausted (2000% used), page alert, burn 20.0x over 1 h"
    )
    calm = _slo_status(0.0)
    assert assess_risk("checkout", slos=[calm]).level == "low"  # type: ignore[list-item]
    slow = _slo_status(0.5)  # burn 0.5: no alert, half the budget of the traffic seen used
    assert assess_risk("checkout", slos=[slow]).level == "low"  # type: ignore[list-item]
    low = _slo_status(0.8)  # burn 0.8: no alert, but only 20 % of the budget left
    assert assess_risk("checkout", slos=[low]).level == "medium"  # type: ignore[list-item]
    ticket = _slo_status(1.5)  # burn 1.5 over 3 d and 6 h: ticket, budget overspent
    risk = assess_risk("checkout", slos=[ticket])  # type: ignore[list-item]
    assert risk.level == "high" and "ticket alert" in risk.signals[0].detail


def test_executive_summary_reads_from_the_data() -> None:
    api = score_service("api", "microservice", {"latency_p99_ms": 40, "error_rate": 0.07}, tier=1)
    ranker = score_service("ranker", "ml_model", {"accuracy": 0.87, "latency_p99_ms": 90})
    web = score_service("web", "microservice", {"latency_p99_ms": 30, "error_rate": 0.001})
    org = score_org([api, ranker, web])
    risks = [
        assess_risk("api", health=api, failure_probability={24: 0.3}),
        assess_risk("ranker", health=ranker),
        assess_risk("web", health=web),
    ]
    slos = [_slo_status(20.0), _slo_status(0.0)]
    text = executive_summary("Acme", org, risks, slos)  # type: ignore[arg-type]
    assert text == (
        f"Acme health is {org.score:.0f}/100 ({org.status}) across 3 services:"
        " 1 healthy, 1 warning, 1 critical."
        f" Weakest: api ({api.score:.0f}, error rate 7.0%); ranker ({ranker.score:.0f},"
        " accuracy 0.87)."
        " Main risks: api is critical (health 59/100 (critical: error rate 7.0%);"
        " 24 h failure probability 30%)."
        " Error budgets: 1 of 2 exhausted (checkout-availability)."
        " Burning fast enough to page: checkout-availability."
    )


def test_executive_summary_of_a_quiet_fleet() -> None:
    web = score_service("web", "microservice", {"latency_p99_ms": 30, "error_rate": 0.001})
    text = executive_summary("Acme", score_org([web]), [assess_risk("web", health=web)])
    assert text == (
        "Acme health is 100/100 (ok) across 1 service: 1 healthy."
        " No service is at high risk of failing."
    )
