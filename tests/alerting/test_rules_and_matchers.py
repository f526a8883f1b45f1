from __future__ import annotations

import pytest
from factories import Account
from fastapi import FastAPI

from failcast.alerting.conditions import aggregate, baseline, effect_size, fingerprint
from failcast.alerting.context import estimate_mttr, mttr
from failcast.alerting.rules import (
    SloBurnRule,
    ThresholdRule,
    incident_type_for_metric,
    load_rules_yaml,
)
from failcast.alerting.suppression import ActiveSilence, ActiveWindow, AlertFacts, decide
from failcast.db.transactions import session_scope
from failcast.deps import services_of
from failcast.kit.matchers import MatchOp, matches_all, parse_matcher, parse_matchers
from failcast.kit.yamlsource import YamlConfigError
from failcast.models.incident import IncidentType

LABELS = {"service": "checkout", "severity": "critical", "region": "eu-west"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('service="checkout"', True),
        ("service=checkout", True),
        ('service!="checkout"', False),
        ('region=~"eu-.*"', True),
        ('region=~"eu"', False),  # anchored at both ends, like Alertmanager
        ('region!~"us-.*"', True),
        ('team=""', True),  # a missing label matches the empty string
        ('team!=""', False),
    ],
)
def test_matchers_follow_alertmanager_semantics(text: str, expected: bool) -> None:
    assert parse_matcher(text).matches(LABELS) is expected


def test_matchers_from_mappings_and_their_text_round_trip() -> None:
    matcher = parse_matcher({"name": "severity", "value": "crit.*", "isRegex": True})
    assert matcher.op is MatchOp.re
    assert str(matcher) == 'severity=~"crit.*"'
    assert parse_matcher(str(matcher)) == matcher
    assert matches_all(parse_matchers(['service="checkout"', 'severity="critical"']), LABELS)
    assert not matches_all(parse_matchers(['service="checkout"', 'severity="info"']), LABELS)


@pytest.mark.parametrize("bad", ["service", '1abc="x"', 'x=~"("', {"name": "x"}, 42])
def test_bad_matchers_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_matcher(bad)


def test_rule_file_loads_every_kind() -> None:
    rules = load_rules_yaml(
        "rules:\n"
        "  - name: slow-checkout\n"
        "    kind: threshold\n"
        "    metric: latency_p99_ms\n"
        "    op: '>'\n"
        "    value: 500\n"
        "    for: 2m\n"
        "    keep_firing_for: 5m\n"
        "  - name: page-burn\n"
        "    kind: slo_burn\n"
        "    tier: page\n"
    )
    slow, burn = rules
    assert isinstance(slow, ThresholdRule) and isinstance(burn, SloBurnRule)
    assert (slow.for_ms, slow.keep_firing_ms) == (120_000, 300_000)
    assert slow.fires(500.5) and not slow.fires(500)
    assert burn.fires(2.0) and not burn.fires(1.0)


def test_rule_file_errors_name_the_line_and_key() -> None:
    text = (
        "rules:\n"
        "  - name: ok\n"
        "    kind: threshold\n"
        "    metric: cpu\n"
        "    value: 90\n"
        "  - name: broken\n"
        "    kind: threshold\n"
        "    metric: cpu\n"
        "    op: '=>'\n"
        "    value: 90\n"
        "    colour: red\n"
    )
    with pytest.raises(YamlConfigError) as caught:
        load_rules_yaml(text)
    problems = {(p.line, p.field) for p in caught.value.problems}
    assert (9, "rules.1.threshold.op") in problems
    assert (11, "rules.1.threshold.colour") in problems


def test_conditions_arithmetic() -> None:
    assert aggregate([1.0, 2.0, 6.0], "avg") == 3.0
    assert aggregate([1.0, 2.0, 6.0], "last") == 6.0
    base = baseline([10.0, 12.0, 14.0])
    assert base is not None and (base.mean, base.std) == (12.0, 2.0)
    assert effect_size(20.0, base) == 4.0
    assert effect_size(20.0, baseline([10.0])) is None
    assert fingerprint(1, "a", {"x": "1", "y": "2"}) == fingerprint(1, "a", {"y": "2", "x": "1"})
    assert fingerprint(1, "a", {}) != fingerprint(2, "a", {})


def test_incident_type_follows_the_metric_name() -> None:
    assert incident_type_for_metric("latency_p99_ms") is IncidentType.latency_spike
    assert incident_type_for_metric("accuracy") is IncidentType.accuracy_decay
    assert incident_type_for_metric("cost_usd_per_hour") is IncidentType.cost_overload
    assert incident_type_for_metric("freshness_lag_min") is IncidentType.pipeline_failure
    assert incident_type_for_metric("memory_pct") is IncidentType.resource_exhaustion


async def test_an_incident_type_no_incident_has_has_no_recovery_history(
    app: FastAPI, account: Account
) -> None:
    async with session_scope(services_of(app).db) as session:
        estimate = await mttr(session, account.org_id, "unknown")
    assert estimate.as_dict() == {"incidents": 0, "note": "not enough history"}


def test_mttr_needs_three_resolved_incidents() -> None:
    assert estimate_mttr([10.0, 20.0]).as_dict() == {"incidents": 2, "note": "not enough history"}
    assert estimate_mttr([60.0, 10.0, 20.0]).as_dict() == {
        "incidents": 3,
        "median_minutes": 20.0,
        "min_minutes": 10.0,
        "max_minutes": 60.0,
    }


def test_suppression_order_and_inhibition_scope() -> None:
    db_down = AlertFacts(1, "database", "critical", {"incident_type": "resource_exhaustion"})
    checkout_slow = AlertFacts(2, "checkout", "warning", {"incident_type": "latency_spike"})
    checkout_cpu = AlertFacts(3, "checkout", "warning", {"incident_type": "resource_exhaustion"})
    search_slow = AlertFacts(4, "search", "warning", {"incident_type": "latency_spike"})
    muted = AlertFacts(5, "search", "info", {"incident_type": "cost_overload", "team": "a"})

    def dependents(service: str) -> set[str]:
        return {"checkout", "api-gateway"} if service == "database" else set()

    reasons = decide(
        [db_down, checkout_slow, checkout_cpu, search_slow, muted],
        [ActiveSilence(7, parse_matchers(['team="a"']))],
        [ActiveWindow(9, "api-gateway")],
        dependents,
    )
    assert reasons == {2: "inhibited_by:1", 5: "silence:7"}
    gateway = AlertFacts(6, "api-gateway", "critical", {"incident_type": "latency_spike"})
    assert decide([gateway], [], [ActiveWindow(9, "api-gateway")], dependents) == {
        6: "maintenance:9"
    }
