from __future__ import annotations

import numpy as np

from failcast.predict.dataset import FleetData, ServiceData, build_dataset, fleet_features
from failcast.predict.labels import IncidentRecord, horizon_labels, next_incident_type
from failcast.predict.simulated import simulated_history

HOUR = 3_600_000


def test_label_is_an_incident_start_strictly_after_t_and_within_the_horizon() -> None:
    ts = np.array([0, 1, 2, 3, 4, 5]) * HOUR
    starts = np.array([3 * HOUR])
    # (t, t + 2 h] contains 3 h for t = 1 h and t = 2 h only; t = 3 h itself is not "ahead".
    assert horizon_labels(ts, starts, 2).tolist() == [False, True, True, False, False, False]
    assert next_incident_type(ts, starts, ["cost_overload"], 2) == [
        None, "cost_overload", "cost_overload", None, None, None,
    ]  # fmt: skip


def test_features_are_causal_prefix_equals_whole() -> None:
    history = simulated_history(2, 3, seed=5)
    fleet = history.fleet
    cut = 400
    names, whole = fleet_features(fleet)
    prefix_names, prefix = fleet_features(fleet.head(cut))
    assert names == prefix_names
    for service in whole:
        for column in names:
            a = whole[service].get(column)
            b = prefix[service].get(column)
            if a is None:
                assert b is None
                continue
            assert b is not None
            # Rolling spreads centre on the series mean against cancellation, so a longer series
            # may move the last bits; anything beyond rounding would be a leak from the future.
            np.testing.assert_allclose(
                a[:cut], b, rtol=1e-9, atol=1e-12, err_msg=f"{service}.{column}"
            )


def test_future_values_never_change_earlier_rows() -> None:
    ts = np.arange(600, dtype=np.int64) * 300_000
    quiet = np.full(600, 50.0)
    spiked = quiet.copy()
    spiked[400:] = 99.0  # something happens at row 400
    a = FleetData(ts, {"s": ServiceData("microservice", {"memory_pct": quiet})})
    b = FleetData(ts, {"s": ServiceData("microservice", {"memory_pct": spiked})})
    _, fa = fleet_features(a)
    _, fb = fleet_features(b)
    for column, values in fa["s"].items():
        # The spread of a flat window is rounding noise after a square root (about 1e-6 when
        # the series mean moves); a leak of the jump to 99 would show up in whole units.
        np.testing.assert_allclose(
            values[:400], fb["s"][column][:400], rtol=1e-9, atol=1e-5, err_msg=column
        )
    assert fb["s"]["memory_pct__mean_12"][405] > fa["s"]["memory_pct__mean_12"][405]


def test_topology_features_count_unhealthy_dependencies() -> None:
    ts = np.arange(700, dtype=np.int64) * 300_000
    rng = np.random.default_rng(0)
    healthy = 0.01 + 0.001 * rng.standard_normal(700)
    broken = healthy.copy()
    broken[650:] = 0.9  # the database starts failing every call
    fleet = FleetData(
        ts,
        {
            "db": ServiceData("microservice", {"error_rate": broken}),
            "cache": ServiceData("microservice", {"error_rate": healthy}),
            "api": ServiceData("microservice", {"error_rate": healthy}, ("db", "cache")),
        },
    )
    _, cols = fleet_features(fleet)
    api = cols["api"]
    assert api["deps_count"][0] == 2
    assert api["deps_unhealthy"][640] == 0
    assert api["deps_unhealthy"][660] == 1
    assert api["deps_failing_max"][660] == 0.9
    assert cols["db"]["deps_count"][0] == 0


def test_dataset_rows_are_time_ordered_with_labels_per_horizon() -> None:
    history = simulated_history(1.5, 2, seed=1)
    incident = IncidentRecord("database", "resource_exhaustion", 0, 0, "database")
    start_s = float(history.fleet.ts_ms[400]) / 1000
    incident = IncidentRecord("database", "resource_exhaustion", start_s, start_s + 600, "database")
    ds = build_dataset(history.fleet, [incident], (1, 24), warmup=288)
    assert np.all(np.diff(ds.ts_ms) >= 0)
    assert set(ds.services) == set(history.fleet.services)
    positive = {
        (s, int(t)) for s, t, y in zip(ds.services, ds.ts_ms, ds.labels[1], strict=True) if y
    }
    # One hour ahead: only database rows in the hour before the start.
    assert positive and all(s == "database" for s, _ in positive)
    assert all(start_s * 1000 - HOUR <= t < start_s * 1000 for _, t in positive)
