from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from failcast.chaos import Fault, FaultKind, IncidentType, generate_history
from failcast.chaos.history import DEFAULT_START


def series(samples: pd.DataFrame, service: str, metric: str) -> np.ndarray:
    rows = samples[(samples["service"] == service) & (samples["metric"] == metric)]
    values: np.ndarray = rows.sort_values("ts")["value"].to_numpy()
    return values


def test_long_format_covers_every_series_at_every_step() -> None:
    samples, _, topology = generate_history(1, 10, 600, seed=1)
    assert list(samples.columns) == ["ts", "service", "metric", "value"]
    assert samples["ts"].nunique() == 144
    assert samples["ts"].min() == DEFAULT_START
    n_series = samples.groupby(["service", "metric"], observed=True).ngroups
    assert len(samples) == 144 * n_series
    assert set(samples["service"].unique()) == set(topology.services)
    assert np.isfinite(samples["value"]).all()


def test_same_seed_same_history_and_other_seeds_differ() -> None:
    first = generate_history(3, 12, 300, seed=7)
    again = generate_history(3, 12, 300, seed=7)
    other = generate_history(3, 12, 300, seed=8)
    pd.testing.assert_frame_equal(first.samples, again.samples)
    assert first.incidents == again.incidents
    assert not np.allclose(first.samples["value"], other.samples["value"])


def test_daily_seasonality_shows_in_traffic() -> None:
    samples, _, _ = generate_history(14, 10, 600, seed=3, organic_rate_per_day=0)
    traffic = series(samples, "api-gateway", "throughput_rps")
    per_day = 144

    def autocorrelation(lag: int) -> float:
        return float(np.corrcoef(traffic[:-lag], traffic[lag:])[0, 1])

    assert autocorrelation(per_day) > 0.8
    assert autocorrelation(per_day // 2) < 0.0
    assert autocorrelation(7 * per_day) > autocorrelation(per_day) - 0.05


def test_organic_failures_leave_incidents_with_precursors() -> None:
    _, incidents, _ = generate_history(30, 12, 3600, seed=11)
    assert len(incidents) >= 10
    assert {i.type for i in incidents} <= set(IncidentType)
    leads = [i.start - i.precursor_start for i in incidents if i.precursor_start is not None]
    assert leads and min(leads) >= 4 * 3600
    assert all(i.root_cause_service == i.service for i in incidents)
    by_service: dict[str, list[tuple[float, float]]] = {}
    for incident in incidents:
        by_service.setdefault(incident.service, []).append(
            (incident.precursor_start or incident.start, incident.end)
        )
    for spans in by_service.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_organic_failure_shows_in_the_metrics_it_labels() -> None:
    samples, incidents, _ = generate_history(30, 10, 600, seed=11)
    oom = [i for i in incidents if i.fault is FaultKind.memory_leak_oom]
    assert oom, "seed 11 has a memory leak in its month"
    incident = oom[0]
    rows = samples[(samples["service"] == incident.service) & (samples["metric"] == "memory_pct")]
    before_hit = rows[(rows["ts"] >= incident.start - 1800) & (rows["ts"] < incident.start)]
    assert before_hit["value"].min() > 90


def test_injected_faults_join_the_history_with_their_incidents() -> None:
    fault = Fault(FaultKind.cascade, "database", DEFAULT_START + 86400, duration_s=1800)
    samples, incidents, _ = generate_history(
        2, 10, 60, seed=2, faults=[fault], organic_rate_per_day=0
    )
    assert {i.service for i in incidents} == {
        "database", "auth", "user", "checkout", "orders-etl", "api-gateway",
    }  # fmt: skip
    assert all(
        i.root_cause_service == "database" and i.type is IncidentType.cascade for i in incidents
    )
    errors = samples[(samples["service"] == "api-gateway") & (samples["metric"] == "error_rate")]
    during = errors[(errors["ts"] >= fault.hit + 120) & (errors["ts"] < fault.end)]
    assert during["value"].min() > 0.3
