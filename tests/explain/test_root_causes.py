from __future__ import annotations

import numpy as np

from failcast.explain import (
    ServiceEvidence,
    describe_feature,
    metric_evidence,
    rank_root_causes,
    top_factors,
)

# api calls checkout, checkout calls db; cache is a second dependency of checkout.
DEPS = {"api": ("checkout",), "checkout": ("db", "cache"), "db": (), "cache": ()}


def ev(score: float, metric: str = "error_rate") -> ServiceEvidence:
    return ServiceEvidence(score, {metric: score})


def test_the_anomalous_dependency_is_named_not_the_downstream_symptom() -> None:
    evidence = {
        "api": ev(1.0),
        "checkout": ev(1.0),
        "db": ev(0.9, "latency_p99_ms"),
        "cache": ev(0.05),
    }
    verdict = rank_root_causes("api", DEPS, evidence)
    assert verdict.verdict == "conclusive"
    assert verdict.cause == "db"
    assert verdict.metric == "latency_p99_ms"
    # checkout is explained by db: 1.0 * (1 - 0.6 * 0.9) = 0.46; api by checkout: 1 - 0.6 = 0.4.
    scores = {c.service: round(c.score, 2) for c in verdict.candidates}
    assert scores == {"db": 0.9, "checkout": 0.46, "api": 0.4, "cache": 0.05}
    assert verdict.candidates[1].explained_by == "db"


def test_a_service_failing_on_its_own_is_its_own_cause() -> None:
    evidence = {"checkout": ev(0.95, "saturation"), "db": ev(0.1), "cache": ev(0.05)}
    verdict = rank_root_causes("checkout", DEPS, evidence)
    assert (verdict.verdict, verdict.cause, verdict.metric) == (
        "conclusive",
        "checkout",
        "saturation",
    )


def test_two_equally_anomalous_dependencies_are_inconclusive() -> None:
    evidence = {"checkout": ev(1.0), "db": ev(0.8), "cache": ev(0.75)}
    verdict = rank_root_causes("checkout", DEPS, evidence)
    assert verdict.verdict == "inconclusive"
    assert verdict.cause is None
    assert "within 0.05" in verdict.reason


def test_weak_evidence_everywhere_is_inconclusive() -> None:
    evidence = {"checkout": ev(0.2), "db": ev(0.01), "cache": ev(0.0)}
    verdict = rank_root_causes("checkout", DEPS, evidence)
    assert verdict.verdict == "inconclusive"
    assert "evidence floor" in verdict.reason


def test_metric_evidence_is_high_for_a_jump_and_low_for_noise() -> None:
    rng = np.random.default_rng(0)
    x = 50 + rng.standard_normal(400)
    assert metric_evidence(x, 399) < 0.3
    x[-3:] = 80.0
    assert metric_evidence(x, 399) == 1.0


def test_contributions_become_statements() -> None:
    assert (
        describe_feature("memory__trend", 2.5, "memory_pct")
        == "memory_pct worsening by 2.5 sigma over 6 h"
    )
    assert (
        describe_feature("latency__level", 3.0)
        == "latency metrics 3.0 sigma worse than the weekly norm"
    )
    factors = top_factors(
        ["memory__headroom_h", "deps_unhealthy", "hour_sin"],
        [12.0, 1.0, 0.5],
        [0.31, -0.05, 0.0, -2.0],
        drivers={"memory__headroom_h": "process_resident_memory_bytes"},
    )
    assert [f.statement for f in factors] == [
        "process_resident_memory_bytes reaches the limit in ~12 h at the current trend: +0.31",
        "1 unhealthy dependency: -0.05",
    ]
    assert factors[0].metric == "process_resident_memory_bytes"
    assert factors[1].metric is None
