"""The root-cause core on small graphs built from plain arrays."""

from __future__ import annotations

import numpy as np
import pytest

from failcast.rca import (
    AnalysisError,
    Question,
    Series,
    ServiceAnomaly,
    analyse,
    metric_anomaly,
    rank,
    role,
)
from failcast.rca.analysis import as_rate, is_counter

STEP = 60_000
N = 120  # two hours of one-minute samples
AT = 100 * STEP  # the symptom is seen at minute 100


def series(
    service: str,
    metric: str,
    level: float,
    *,
    jump: float = 0.0,
    seed: int = 0,
    noise: float = 0.02,
    from_minute: int = 100,
) -> Series:
    """A noisy metric around `level` that moves by `jump` (a share of the level) from
    `from_minute` on."""
    rng = np.random.default_rng([seed, len(service), len(metric)])
    values = level * (1.0 + noise * rng.standard_normal(N))
    values[from_minute:] += jump * level
    return Series(service, metric, np.arange(N, dtype=np.int64) * STEP, values)


def fleet(faulty: dict[str, float], services: list[str]) -> list[Series]:
    """Every service reports latency in seconds and CPU as a ratio; `faulty` moves latency."""
    out = []
    for i, name in enumerate(services):
        out.append(
            series(name, "request_duration_seconds", 0.05, jump=faulty.get(name, 0.0), seed=i)
        )
        out.append(series(name, "cpu_usage_ratio", 0.4, seed=100 + i))
    return out


def test_a_chain_names_the_faulty_leaf_not_the_callers_it_slows_down() -> None:
    deps = {"frontend": ("api",), "api": ("db",), "db": ()}
    # The leaf slows down by 300 %; each caller inherits part of it.
    data = fleet({"db": 3.0, "api": 2.0, "frontend": 1.5}, list(deps))
    analysis = analyse(data, deps, Question("frontend", AT))
    assert analysis.verdict == "root_cause"
    assert analysis.candidates[0].service == "db"
    top = analysis.candidates[0]
    assert top.anomaly.metric is not None
    assert top.anomaly.metric.metric == "request_duration_seconds"
    explained = {c.service: c.explained_by for c in analysis.candidates}
    assert explained["api"] == "db" and explained["frontend"] in ("api", "db")


def test_a_fan_in_names_the_shared_dependency() -> None:
    deps = {"web": ("cart", "search"), "cart": ("cache",), "search": ("cache",), "cache": ()}
    data = fleet({"cache": 2.0, "cart": 1.0, "search": 1.0, "web": 0.8}, list(deps))
    analysis = analyse(data, deps, Question("web", AT, "request_duration_seconds"))
    assert analysis.verdict == "root_cause"
    assert analysis.candidates[0].service == "cache"


def test_two_faulty_independent_services_are_inconclusive_with_both_named() -> None:
    deps = {"web": ("cart", "search"), "cart": (), "search": ()}
    data = fleet({"cart": 2.0, "search": 2.0, "web": 1.0}, list(deps))
    analysis = analyse(data, deps, Question("web", AT))
    assert analysis.verdict == "inconclusive"
    assert set(analysis.ranking.close) == {"cart", "search"}
    assert {c.service for c in analysis.candidates[:2]} == {"cart", "search"}
    assert analysis.to_dict()["verdict"] == "inconclusive"


def test_missing_metrics_and_services_do_not_crash() -> None:
    deps = {"web": ("api", "ghost"), "api": ("db",), "db": ()}
    data = fleet({"db": 3.0, "api": 2.0, "web": 2.0}, ["web", "api", "db"])
    # api loses its CPU metric; db reports only in the window (no normal period to learn from
    # for that metric); ghost is in the topology and never reports.
    data = [s for s in data if not (s.service == "api" and s.metric.startswith("cpu"))]
    data.append(Series("db", "queue_depth", np.array([AT, AT + STEP]), np.array([5.0, np.nan])))
    data.append(Series("db", "all_nan", np.arange(N) * STEP, np.full(N, np.nan)))
    analysis = analyse(data, deps, Question("web", AT))
    assert analysis.candidates[0].service == "db"
    assert "ghost" in analysis.unjudged
    assert analysis.to_dict()["candidates"][0]["service"] == "db"


def test_units_and_scale_do_not_change_the_answer() -> None:
    deps = {"web": ("api",), "api": ("db",), "db": ()}
    data = fleet({"db": 3.0, "api": 2.0, "web": 1.5}, list(deps))
    scaled = [
        Series(s.service, s.metric.replace("seconds", "ms"), s.ts, s.values * 1000.0)
        if s.service == "db"
        else s
        for s in data
    ]
    a = analyse(data, deps, Question("web", AT))
    b = analyse(scaled, deps, Question("web", AT))
    assert [c.service for c in a.candidates] == [c.service for c in b.candidates]
    assert [round(c.score, 6) for c in a.candidates] == [round(c.score, 6) for c in b.candidates]


def test_a_handful_of_points_is_enough() -> None:
    """Five-minute samples: six points of normal, three in the window."""
    ts = np.arange(9, dtype=np.int64) * 300_000
    at = int(ts[6])
    quiet = np.array([10.0, 10.2, 9.9, 10.1, 9.8, 10.0, 10.1, 9.9, 10.0])
    broken = np.array([10.0, 10.2, 9.9, 10.1, 9.8, 10.0, 55.0, 60.0, 58.0])
    slowed = np.array([1.0, 1.02, 0.99, 1.01, 0.98, 1.0, 3.0, 3.2, 3.1])
    data = [
        Series("api", "latency", ts, slowed),
        Series("db", "latency", ts, broken),
        Series("cache", "latency", ts, quiet),
    ]
    deps = {"api": ("db", "cache")}
    analysis = analyse(data, deps, Question("api", at, before_ms=0, after_ms=600_000))
    assert analysis.verdict == "root_cause"
    assert analysis.candidates[0].service == "db"


def test_a_service_outside_the_symptoms_dependencies_needs_more_evidence() -> None:
    deps = {"web": ("api",), "api": (), "batch": ()}
    data = fleet({"api": 1.0, "batch": 1.0, "web": 0.5}, list(deps))
    analysis = analyse(data, deps, Question("web", AT))
    order = [c.service for c in analysis.candidates]
    assert order.index("api") < order.index("batch")
    batch = next(c for c in analysis.candidates if c.service == "batch")
    assert not batch.in_cone and batch.score == pytest.approx(0.5 * batch.anomaly.score)


def test_a_quiet_fleet_is_inconclusive() -> None:
    deps = {"web": ("api",), "api": ()}
    analysis = analyse(fleet({}, list(deps)), deps, Question("web", AT))
    assert analysis.verdict == "inconclusive"
    assert "evidence floor" in analysis.ranking.reason


def test_a_service_that_stops_reporting_is_anomalous() -> None:
    deps = {"web": ("api",), "api": ()}
    data = fleet({"web": 1.0}, list(deps))
    data = [
        Series(s.service, s.metric, s.ts[:99], s.values[:99]) if s.service == "api" else s
        for s in data
    ]
    analysis = analyse(data, deps, Question("web", AT))
    top = analysis.candidates[0]
    assert top.service == "api" and top.anomaly.metric is not None and top.anomaly.metric.silent
    assert "stopped reporting" in analysis.to_dict()["candidates"][0]["evidence"]


def test_questions_that_cannot_be_answered_say_why() -> None:
    deps = {"web": ("api",), "api": ()}
    data = fleet({}, list(deps))
    with pytest.raises(AnalysisError, match="neither in the samples nor in the topology"):
        analyse(data, deps, Question("nowhere", AT))
    with pytest.raises(AnalysisError, match="has no samples for web; it has cpu_usage_ratio"):
        analyse(data, deps, Question("web", AT, "latency"))
    with pytest.raises(AnalysisError, match="no samples fall in the window"):
        analyse(data, deps, Question("web", AT + 10 * 3_600_000))


def test_metric_anomaly_is_scale_free_and_ignores_one_stray_point() -> None:
    rng = np.random.default_rng(3)
    normal = 100 + rng.standard_normal(200)
    ts = np.arange(10, dtype=np.int64)
    calm = 100 + rng.standard_normal(10)
    stray = calm.copy()
    stray[4] = 160.0
    jumped = calm + 30.0
    a = metric_anomaly("m", normal, ts, stray)
    b = metric_anomaly("m", normal, ts, jumped)
    c = metric_anomaly("m", normal * 0.001, ts, jumped * 0.001)
    assert a is not None and b is not None and c is not None
    assert a.score < 0.3 and 0.9 < b.score < 1.0 and b.onset_ms == 0
    assert c.z == pytest.approx(b.z)
    assert metric_anomaly("m", [1.0, 2.0], ts, calm) is None  # too little to learn from


def test_counters_are_read_as_rates() -> None:
    ts = np.arange(20, dtype=np.int64) * 1000
    counter = np.cumsum(np.full(20, 5.0))
    counter[10:] -= counter[9]  # a restart resets it
    assert is_counter("http_requests_total", counter)
    assert is_counter("requests", np.cumsum(np.ones(20)))
    assert not is_counter("latency", np.sin(np.arange(20.0)))
    _, rate = as_rate(ts, counter)
    assert np.allclose(rate, 5.0)


def test_rank_discounts_a_service_explained_by_its_dependency() -> None:
    def reading(name: str, score: float) -> ServiceAnomaly:
        return ServiceAnomaly(name, score, None, (), 0)

    deps = {"a": ("b",), "b": ("c",), "c": ()}
    ranking = rank(
        "a", deps, {"a": reading("a", 1.0), "b": reading("b", 1.0), "c": reading("c", 0.9)}
    )
    assert [c.service for c in ranking.candidates] == ["c", "b", "a"] or ranking.candidates[
        0
    ].service == "c"
    assert ranking.verdict == "root_cause"
    by = {c.service: c for c in ranking.candidates}
    assert by["b"].explained_by == "c" and by["b"].score == pytest.approx(1.0 * (1 - 0.8 * 0.9))


def test_roles_come_from_naming_conventions() -> None:
    assert role("http_server_request_duration_seconds") == "latency"
    assert role("process_cpu_seconds_total") == "resource"
    assert role("http_requests_errors_total") == "errors"
    assert role("http_requests_total") == "traffic"
    assert role("something_custom") == "other"
