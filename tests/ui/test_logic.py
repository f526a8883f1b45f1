"""The dashboard's data shaping and chart options, on plain values."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI

from failcast.chaos.experiments import Experiment
from failcast.ui import charts
from failcast.ui.api import ApiClient, ApiError, Backend, ReadCache
from failcast.ui.logic import (
    alerting,
    budgets,
    failure_risk,
    formatting,
    graph_view,
    health_view,
    onboarding,
    timeseries,
)
from failcast.ui.pages.admin import prometheus_figures
from failcast.ui.pages.alerts.silences import split_matchers
from failcast.ui.pages.chaos.experiments import experiment_template, progress
from failcast.ui.pages.chaos.faults import countdown_text
from failcast.ui.pages.reliability.slos import burn_down_times
from failcast.ui.pages.reliability.versions import backtest_rows
from failcast.ui.pages.reports import export_filename, export_params
from failcast.ui.pages.service.forecast import forecast_choices
from failcast.ui.pages.settings.channels import channel_config
from failcast.ui.pages.settings.health import health_document
from failcast.ui.pages.settings.keys import key_rows
from failcast.ui.theme import ACCENT, Palette


def test_series_points_add_up_equal_timestamps() -> None:
    payload = {
        "series": [
            {"service": "a", "points": [[0, 1.0], [60, 2.0]]},
            {"service": "b", "points": [[0, 3.0]]},
        ]
    }
    assert timeseries.series_points(payload) == [(0.0, 4.0), (60.0, 2.0)]
    assert timeseries.series_points(payload, "b") == [(0.0, 3.0)]


def test_service_rows_come_worst_first_with_the_metric_that_hurts_most() -> None:
    def metric(name: str, value: float, score: float) -> dict[str, object]:
        return {"metric": name, "value": value, "score": score}

    health = {
        "services": [
            {"id": 1, "service": "api", "kind": "microservice", "tier": 1, "score": 100.0,
             "status": "ok", "components": []},
            {"id": 2, "service": "db", "kind": "microservice", "tier": 2, "score": 78.2,
             "status": "warning",
             "components": [
                 {"component": "latency", "score": 40.0, "status": "critical",
                  "metrics": [metric("latency_p99_ms", 200.0, 40.0)]},
                 {"component": "resource", "score": 90.0, "status": "ok",
                  "metrics": [metric("cpu_pct", 60.0, 100.0), metric("memory_pct", 70, 85.0)]},
             ]},
        ]
    }  # fmt: skip
    rows = health_view.service_rows(health, [{"name": "db", "team": "storage"}])
    assert [(r.name, r.team, r.reason) for r in rows] == [
        ("db", "storage", "latency_p99_ms 200 (critical)"),
        ("api", None, "no health metrics yet"),
    ]


def test_predictions_read_the_api_items_with_their_explanation() -> None:
    payload = {
        "items": [
            {"service": "api", "horizon_hours": 24, "probability": 0.3, "alarm": True,
             "failure_type": "latency_spike", "model_version": 2, "ts": "2026-01-01T00:00:00Z",
             "factors": [{"statement": "latency rising 40 % an hour", "contribution": 0.8}],
             "root_cause": {"verdict": "dependency", "service": "db", "metric": "cpu_pct",
                            "reason": "db saturates first"}},
            {"service": "api", "horizon_hours": 72, "probability": float("nan")},
        ]
    }  # fmt: skip
    [p] = failure_risk.parse_predictions(payload)
    assert (p.service, p.horizon_hours, p.probability, p.alarm) == ("api", 24, 0.3, True)
    assert p.factors == ("latency rising 40 % an hour",)
    assert p.root_cause == "db (cpu_pct): db saturates first [dependency]"


def test_anomalies_mark_points_whose_score_reached_the_threshold() -> None:
    answer = {
        "series": [
            {"labels": {"metric": "latency_p99_ms"}, "points": [[60, 0.2], [120, 0.995]]},
            {"labels": {"metric": "cpu_pct"}, "points": [[60, 1.0]]},
        ]
    }
    scores = timeseries.points_by_label(answer, "metric")
    points = [(60.0, 50.0), (120.0, 400.0)]
    assert timeseries.anomalies(points, scores["latency_p99_ms"], 0.99) == [(120.0, 400.0)]


def test_burn_down_leaves_out_times_without_data() -> None:
    history = [
        (200.0, {"data": "ok", "budget": {"remaining": 0.5}}),
        (100.0, {"data": "ok", "budget": {"remaining": 0.9}}),
        (150.0, {"data": "no_data", "budget": None}),
    ]
    assert budgets.budget_points(history) == [(100.0, 0.9), (200.0, 0.5)]
    low = {"data": "ok", "severity": "none", "budget": {"remaining": 0.1}}
    assert budgets.burn_status(low) == ("warning", "budget low")
    assert (
        budgets.burn_status({"data": "ok", "severity": "page", "budget": {"remaining": 0.6}})[0]
        == "critical"
    )


def test_org_failure_probability_treats_services_as_independent() -> None:
    by_service = {"a": {24: 0.1}, "b": {24: 0.2, 48: 0.5}}
    # 1 - 0.9 * 0.8
    assert failure_risk.org_failure_probability(by_service, 24) == pytest.approx(0.28)
    assert failure_risk.org_failure_probability(by_service, 48) == pytest.approx(0.5)


def test_cost_forecast_extends_an_exact_line_with_a_zero_width_band() -> None:
    history = [(0.0, 10.0), (3600.0, 11.0), (7200.0, 12.0)]
    cost = timeseries.cost_forecast(history, horizon_s=7200.0, steps=2)
    assert cost is not None
    assert [round(v, 6) for _, v in cost.forecast] == [12.0, 13.0, 14.0]
    assert [round(v, 6) for _, v in cost.upper] == [12.0, 13.0, 14.0]
    assert cost.projected_month == pytest.approx(12.0 * 730)
    assert timeseries.cost_forecast(history[:2]) is None


def test_alerts_come_open_first_then_by_severity_then_newest() -> None:
    rows = alerting.parse_alerts(
        {"items": [
            {"id": 1, "title": "old warn", "severity": "warning", "state": "firing",
             "started_at": "2026-01-01T00:00:00Z"},
            {"id": 2, "title": "crit acked", "severity": "critical", "state": "acknowledged",
             "started_at": "2026-01-03T00:00:00Z"},
            {"id": 3, "title": "new warn", "severity": "warning", "state": "firing",
             "started_at": "2026-01-02T00:00:00Z"},
            {"id": 4, "title": "crit", "severity": "critical", "state": "firing",
             "started_at": "2026-01-01T00:00:00Z"},
            {"id": 5, "title": "crit pending", "severity": "critical", "state": "pending",
             "started_at": "2026-01-04T00:00:00Z"},
        ]}
    )  # fmt: skip
    assert [a.title for a in alerting.by_priority(rows)] == [
        "crit", "new warn", "old warn", "crit pending", "crit acked",
    ]  # fmt: skip


def test_silence_matchers_split_on_commas_between_matchers_only() -> None:
    assert split_matchers('service="a,b", severity=~"crit.*",  team!=ops') == [
        'service="a,b"', 'severity=~"crit.*"', "team!=ops",
    ]  # fmt: skip


def test_topology_chart_highlights_the_critical_path_and_colours_by_health() -> None:
    graph = {
        "nodes": [
            {"id": "web", "kind": "microservice", "tier": 1, "health_status": "unknown"},
            {"id": "api", "kind": "microservice", "tier": 2, "health_status": "ok"},
            {"id": "db", "kind": "microservice", "tier": 2, "health_status": "critical"},
        ],
        "edges": [
            {"source": "web", "target": "api", "criticality": "hard"},
            {"source": "api", "target": "db", "criticality": "soft"},
        ],
    }
    cascade = {"services": [{"service": "web", "probability": 0.5}]}
    view = graph_view.topology_view(graph, cascade, {"path": ["web", "api", "db"]})
    options = charts.topology_chart(view, Palette.of(True))
    links = options["series"][0]["links"]
    hot = sorted((x["source"], x["target"]) for x in links if x["lineStyle"]["color"] == ACCENT)
    assert hot == [("api", "db"), ("web", "api")]
    assert [x["lineStyle"]["type"] for x in links] == ["solid", "dashed"]
    nodes = {n["id"]: n for n in options["series"][0]["data"]}
    assert nodes["db"]["itemStyle"]["color"] == "#ef4444"
    assert nodes["web"]["itemStyle"]["color"] == "#64748b"
    assert nodes["web"]["label"]["formatter"] == "web\n50%"


def test_api_errors_read_like_sentences() -> None:
    problems = [{"field": "password", "msg": "too short"}, {"field": "", "msg": "bad body"}]
    assert ApiError(422, "ValidationFailed", problems).message == "password: too short; bad body"
    assert ApiError(401, "Unauthorized", None).message == "Unauthorized (HTTP 401)"


def test_the_experiment_template_is_a_valid_experiment() -> None:
    body = experiment_template("api-gateway", "microservice", "latency_p99_ms", "cpu_spike")
    experiment = Experiment.model_validate(body["experiment"])
    assert str(experiment.steady_state_hypothesis.probes[0]) == "api-gateway latency_p99_ms < 500"
    assert progress({"observe_from": 100.0, "after_to": 200.0}, 150.0) == 0.5
    assert progress({"observe_from": 100.0, "after_to": 200.0}, 250.0) == 1.0


def test_active_keys_are_listed_before_revoked_ones_newest_first() -> None:
    base = {"prefix": "abc", "scopes": ["read"], "created_at": "2026-01-01T00:00:00Z"}
    keys = [
        {**base, "id": 1, "name": "old"},
        {**base, "id": 2, "name": "gone", "revoked_at": "2026-01-02T00:00:00Z"},
        {**base, "id": 3, "name": "new"},
    ]
    assert [r["name"] for r in key_rows(keys)] == ["new", "old", "gone"]


def test_ingest_snippets_carry_the_callers_key_and_url() -> None:
    curl = onboarding.ingest_curl("https://fc.example.com/", "fc_abc_def")
    assert "https://fc.example.com/api/v1/metrics" in curl
    assert "Authorization: Bearer fc_abc_def" in curl
    assert "'Authorization': 'Bearer fc_abc_def'" in onboarding.ingest_python(
        "http://h", "fc_abc_def"
    )


async def test_identical_reads_share_one_request_until_they_expire() -> None:
    now = [0.0]
    cache = ReadCache(ttl_s=1.5, clock=lambda: now[0])
    calls: list[int] = []

    async def fetch() -> list[int]:
        calls.append(1)
        await asyncio.sleep(0)
        return [len(calls)]

    key = ("token", "/api/v1/health", ())
    first, second = await asyncio.gather(cache.get(key, fetch), cache.get(key, fetch))
    assert first == second == [1] and len(calls) == 1
    now[0] = 1.4
    assert await cache.get(key, fetch) == [1]
    now[0] = 1.6
    assert await cache.get(key, fetch) == [2]
    # Another caller never sees this one's answers; a write forgets the writer's.
    assert await cache.get(("other", "/api/v1/health", ()), fetch) == [3]
    cache.forget("token")
    assert await cache.get(key, fetch) == [4]


async def test_a_read_made_while_a_change_is_in_flight_is_not_served_after_it() -> None:
    """The page that adds a channel draws the list again at once: it must see the channel,
    even when another panel read the list while the change was on its way."""
    app = FastAPI()
    channels: list[str] = []
    release = asyncio.Event()

    @app.get("/channels")
    async def listed() -> list[str]:
        return list(channels)

    @app.post("/channels")
    async def added() -> None:
        await release.wait()
        channels.append("ops-hook")

    client = ApiClient(Backend(app), "token")
    change = asyncio.create_task(client.post("/channels"))
    await asyncio.sleep(0.01)
    assert await client.get("/channels") == []  # read while the change is in flight
    release.set()
    await change
    assert await client.get("/channels") == ["ops-hook"]


async def test_a_failed_read_is_not_remembered() -> None:
    cache = ReadCache(ttl_s=10.0)
    answers: list[object] = [ApiError(500, "Boom", "down"), {"ok": True}]

    async def fetch() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with pytest.raises(ApiError):
        await cache.get((None, "/x", ()), fetch)
    assert await cache.get((None, "/x", ()), fetch) == {"ok": True}


def test_server_figures_come_from_its_prometheus_text() -> None:
    text = "\n".join(
        [
            "# HELP failcast_http_requests_total HTTP requests",
            'failcast_http_requests_total{method="GET",route="/a",status="200"} 90.0',
            'failcast_http_requests_total{method="GET",route="/a",status="503"} 10.0',
            'failcast_http_request_duration_seconds_sum{method="GET",route="/a"} 2.0',
            'failcast_http_request_duration_seconds_count{method="GET",route="/a"} 100.0',
            "failcast_ingested_samples_total 1234.0",
        ]
    )
    assert prometheus_figures(text) == {
        "requests": 100.0, "samples": 1234.0, "error_share": 0.1, "mean_latency_ms": 20.0,
    }  # fmt: skip


def test_health_settings_keep_overrides_and_store_only_changed_thresholds() -> None:
    current = {"version": 1, "services": {"db": {"weights": {"latency": 5}}}, "weights": {}}
    latency = {"healthy": 50.0, "warning": 100.0, "critical": 300.0, "zero": 1000.0}
    cpu = {"healthy": 60.0, "warning": 80.0, "critical": 90.0, "zero": 100.0}
    body = health_document(current, {"latency": 30.0}, {"latency_p99_ms": latency, "cpu_pct": cpu})
    assert body == {
        "version": 1,
        "services": {"db": {"weights": {"latency": 5}}},
        "weights": {"latency": 30.0},
        "thresholds": {"latency_p99_ms": latency},
    }


def test_channel_forms_become_channel_configs() -> None:
    email = {"host": "smtp.example.com", "port": "2525", "sender": "fc@example.com",
             "to": "a@example.com, b@example.com", "username": " ", "password": None}  # fmt: skip
    assert channel_config("email", email) == {
        "host": "smtp.example.com", "port": 2525, "sender": "fc@example.com",
        "to": ["a@example.com", "b@example.com"],
    }  # fmt: skip


def test_exports_ask_for_a_period_ending_now() -> None:
    now = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert export_params("xlsx", 7, " api ", "", now) == {
        "format": "xlsx", "start": "2026-02-22T12:30:00+00:00",
        "end": "2026-03-01T12:30:00+00:00", "service": "api", "metric": None,
    }  # fmt: skip
    assert export_filename("alerts", "csv", now) == "failcast-alerts-20260301-1230.csv"


def test_forecasts_are_asked_against_each_metrics_critical_level() -> None:
    health = {
        "inputs": [
            {"metric": "accuracy", "value": 0.9, "source": "accuracy"},
            {"metric": "freshness_lag_minutes", "value": 10, "source": "freshness_lag_min"},
        ],
        "components": [
            {"metrics": [{"metric": "accuracy", "threshold": {"critical": 0.85}}]},
            {"metrics": [{"metric": "freshness_lag_minutes", "threshold": {"critical": 120}}]},
        ],
    }
    assert forecast_choices(health) == {
        "accuracy": {"metric": "accuracy", "threshold": 0.85, "direction": "below"},
        "freshness_lag_minutes": {
            "metric": "freshness_lag_min", "threshold": 120.0, "direction": "above",
        },
    }  # fmt: skip


def test_backtest_rows_and_burn_down_times() -> None:
    figures = {"test": {"24h": {"precision": 0.5, "brier": 0.01234}}, "validation": {}}
    [row] = backtest_rows(figures)
    assert (row["split"], row["horizon"], row["precision"], row["brier"], row["recall"]) == (
        "test", "24h", "0.5", "0.0123", "—",
    )  # fmt: skip
    times = burn_down_times(1_000_000.0, points=4)
    assert times == [1_000_000.0 - 7 * 86400 + i * 7 * 86400 / 4 for i in range(4)]


def test_a_service_without_any_evidence_is_unknown_not_low_risk() -> None:
    no_data = {"level": "low", "signals": [{"signal": "health", "level": "low",
                                             "detail": "no health data"}]}  # fmt: skip
    measured = {"level": "low", "signals": [{"signal": "health", "level": "low",
                                             "detail": "health 97/100 (ok)"}]}  # fmt: skip
    predicted = {"level": "low", "signals": [*no_data["signals"], {"signal": "failure_24h",
                 "level": "low", "detail": "2% within 24 h"}]}  # fmt: skip
    assert not health_view.has_risk_evidence(no_data)
    assert health_view.has_risk_evidence(measured)
    assert health_view.has_risk_evidence(predicted)


def test_a_prediction_shows_its_age_and_is_marked_stale_after_a_missed_slot() -> None:
    made = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    at = made.timestamp()
    assert failure_risk.prediction_age(made.isoformat(), at + 30) == ("scored just now", False)
    assert failure_risk.prediction_age(made.isoformat(), at + 14 * 60) == (
        "scored 14 min ago",
        False,
    )
    text, stale = failure_risk.prediction_age(made.isoformat(), at + 3 * 3600 + 300)
    assert stale and text.startswith("scored 3 h 5 min ago · stale")
    assert failure_risk.prediction_age("not a time", at)[1] is True


@pytest.mark.parametrize(
    ("factor", "sentence"),
    [
        (
            {"feature": "latency_p99_ms__max_72", "metric": "latency_p99_ms",
             "value": 66.2825, "contribution": 0.4},
            "Latency p99 peaking at 66.3 ms: raises the risk.",
        ),
        (
            {"feature": "freshness_lag_min__ratio_base", "metric": "freshness_lag_min",
             "value": 1.0, "contribution": 0.2},
            "Freshness lag at 1 times its usual level: raises the risk.",
        ),
        (
            {"feature": "error_rate__mean_12", "metric": "error_rate", "value": 1.1e-07,
             "contribution": -0.1},
            "Error rate averaging about 0%: lowers the risk.",
        ),
        (
            {"feature": "memory_pct__slope_72", "metric": "memory_pct", "value": 0.175,
             "contribution": 0.5},
            "Memory trending up: raises the risk.",
        ),
        (
            {"feature": "queue_depth__something_new", "metric": "queue_depth", "value": 1234.5,
             "contribution": 0.5},
            "Queue depth behaving unusually (1,234): raises the risk.",
        ),
        (
            {"feature": "deps_unhealthy", "metric": None, "value": 2.0, "contribution": 0.3},
            "Deps unhealthy at 2: raises the risk.",
        ),
        (
            {"feature": "latency__level__max", "metric": None, "value": 2.34,
             "contribution": 0.3},
            "The latency metrics 2.3 standard deviations worse than their weekly norm:"
            " raises the risk.",
        ),
        (
            {"feature": "memory__used__max", "metric": "memory_pct", "value": 0.87,
             "contribution": 0.3},
            "Memory at 87% of its limit: raises the risk.",
        ),
        (
            {"feature": "disk__headroom_h__min", "metric": "disk_pct", "value": 12.4,
             "contribution": 0.3},
            "Disk reaching its limit in ~12 h at the current trend: raises the risk.",
        ),
        (
            {"feature": "any__trend__mean", "metric": None, "value": -1.5,
             "contribution": -0.2},
            "A metric trending down: lowers the risk.",
        ),
    ],
)  # fmt: skip
def test_model_factors_read_as_sentences_with_units(factor: dict[str, Any], sentence: str) -> None:
    assert formatting.describe_factor(factor) == sentence


def test_values_get_their_unit_and_a_readable_precision() -> None:
    assert formatting.fmt_value(0.0723, formatting.unit_of("error_rate")) == "7.23%"
    assert formatting.fmt_value(66.2825, formatting.unit_of("freshness_lag_minutes")) == "66.3 min"
    assert formatting.fmt_value(87.0, formatting.unit_of("cpu_pct")) == "87%"
    assert formatting.fmt_value(0.907, formatting.unit_of("cost_usd_per_hour")) == "$0.91/h"
    assert formatting.fmt_value(float("nan")) == "—"


def test_a_fault_countdown_reads_minutes_and_seconds() -> None:
    assert countdown_text(245.9) == "4 min 05 s left"
    assert countdown_text(42.0) == "42 s left"
    assert countdown_text(0.4) == "ending"


def test_the_health_calculation_reads_as_a_table_with_units() -> None:
    health = {
        "components": [
            {"component": "latency", "share": 0.5, "metrics": [
                {"metric": "latency_p99_ms", "value": 123.4, "score": 62.98, "status": "warning"}]},
            {"component": "error_rate", "share": 0.5, "metrics": [
                {"metric": "error_rate", "value": 0.002, "score": 100.0, "status": "ok"}]},
        ],
        "skipped": [{"component": "resource", "weight": 15.0, "reason": "no data"}],
    }  # fmt: skip
    assert health_view.health_rows(health) == [
        {"component": "latency", "weight": "50%", "metric": "latency p99", "value": "123 ms",
         "score": "63", "status": "warning"},
        {"component": "error rate", "weight": "50%", "metric": "error rate", "value": "0.2%",
         "score": "100", "status": "ok"},
    ]  # fmt: skip
    assert health_view.health_left_out(health) == "Left out: resource (no data)"
    assert health_view.health_cap(health) == ""


def test_a_capped_health_score_says_why() -> None:
    health = {
        "score": 59.0,
        "weighted_mean": 67.33,
        "status": "critical",
        "components": [
            {"component": "latency", "status": "ok"},
            {"component": "error_rate", "status": "critical"},
        ],
    }
    assert health_view.health_cap(health) == (
        "Weighted mean 67, capped at 59 because error rate is critical."
    )
    assert health_view.health_cap({**health, "score": 67.33}) == ""
    assert health_view.health_cap({"score": None, "weighted_mean": None, "status": "unknown"}) == ""
