from __future__ import annotations

import numpy as np
import pytest

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
    history = simulated_history(9, 3, seed=5)
    fleet = history.fleet
    names, whole = fleet_features(fleet)
    for cut in (400, 2000):
        prefix_names, prefix = fleet_features(fleet.head(cut))
        assert names == prefix_names
        for service in whole:
            for column in names:
                # Exactly equal: not even the last bits of a row may depend on later data.
                np.testing.assert_array_equal(
                    prefix[service][column], whole[service][column][:cut],
                    err_msg=f"{service}.{column}",
                )  # fmt: skip


def test_future_values_never_change_earlier_rows() -> None:
    ts = np.arange(600, dtype=np.int64) * 300_000
    quiet = 50.0 + np.random.default_rng(2).normal(0, 1, 600)
    spiked = quiet.copy()
    spiked[400:] = 99.0  # something happens at row 400
    a = FleetData(ts, {"s": ServiceData("microservice", {"memory_pct": quiet})})
    b = FleetData(ts, {"s": ServiceData("microservice", {"memory_pct": spiked})})
    _, fa = fleet_features(a)
    _, fb = fleet_features(b)
    for column, values in fa["s"].items():
        np.testing.assert_array_equal(values[:400], fb["s"][column][:400], err_msg=column)
    assert fb["s"]["memory__used"][405] > fa["s"]["memory__used"][405]
    assert fb["s"]["any__level__worst"][405] > 3


def test_the_width_is_fixed_whatever_the_metrics_are_called() -> None:
    ts = np.arange(300, dtype=np.int64) * 300_000
    x = np.linspace(1.0, 2.0, 300)
    one = FleetData(ts, {"s": ServiceData("microservice", {"cpu_pct": x})})
    other = FleetData(ts, {"s": ServiceData("microservice", {"a": x, "b": x, "queue_depth": x})})
    names_one, cols_one = fleet_features(one)
    names_other, cols_other = fleet_features(other)
    assert names_one == names_other
    assert set(cols_one["s"]) == set(cols_other["s"]) == set(names_one)


def test_a_declared_role_and_limit_replace_what_the_name_suggests() -> None:
    ts = np.arange(300, dtype=np.int64) * 300_000
    x = np.linspace(10.0, 40.0, 300)
    plain = ServiceData("microservice", {"pool_in_use": x})
    declared = ServiceData(
        "microservice", {"pool_in_use": x}, declared={"pool_in_use": ("saturation", 50.0)}
    )
    _, cols = fleet_features(FleetData(ts, {"plain": plain, "declared": declared}))
    assert np.isnan(cols["plain"]["saturation__used"][-1])
    assert cols["declared"]["saturation__used"][-1] == pytest.approx(np.mean(x[-12:]) / 50.0)
    assert cols["declared"]["saturation__headroom_h"][-1] < 24


def test_topology_features_count_unhealthy_dependencies() -> None:
    ts = np.arange(700, dtype=np.int64) * 300_000
    rng = np.random.default_rng(0)
    healthy = 0.01 + 0.001 * rng.standard_normal(700)
    broken = healthy.copy()
    broken[650:] = 0.9  # the database starts failing every call
    fleet = FleetData(
        ts,
        {
            "db": ServiceData("microservice", {"http_errors_ratio": broken}),
            "cache": ServiceData("microservice", {"failed_calls": healthy}),
            "api": ServiceData("microservice", {"error_rate": healthy}, ("db", "cache")),
        },
    )
    _, cols = fleet_features(fleet)
    api = cols["api"]
    assert api["deps_count"][0] == 2
    assert api["deps_unhealthy"][640] == 0
    assert api["deps_unhealthy"][660] == 1
    assert api["deps_failing_max"][660] > 5  # the errors are far above their weekly norm
    assert api["deps_failing_max"][640] < 4
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
