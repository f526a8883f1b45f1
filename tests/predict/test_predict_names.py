"""Predictions follow what metrics do, not what they are called."""

from __future__ import annotations

from failcast.detect.roles import metric_role
from failcast.predict.dataset import FleetData, ServiceData, build_dataset
from failcast.predict.scoring import score_fleet
from failcast.predict.simulated import simulated_history
from failcast.predict.training import TrainConfig, train

# The simulator's names, and other names an exporter might use for the same measurements.
OTHER_NAMES = {
    "cpu_pct": "container_cpu_usage_percent",
    "memory_pct": "jvm_memory_used_percent",
    "disk_pct": "volume_fill_percent",
    "latency_p50_ms": "checkout_response_time_ms",
    "latency_p99_ms": "upstream_latency_p99_ms",
    "error_rate": "rejected_calls_share",
    "availability": "probe_success_ratio",
    "saturation": "worker_pool_saturation",
    "throughput_rps": "handled_requests_per_second",
    "cost_usd_per_hour": "spend_dollars_hourly",
    "accuracy": "model_precision_at_k",
    "prediction_drift": "output_drift",
    "feature_drift": "input_drift",
    "latency_ms": "inference_duration_ms",
    "cost_per_1k_predictions": "price_per_thousand_calls",
    "traffic_rps": "served_predictions_rate",
    "run_success_rate": "job_success_share",
    "rows_processed": "records_written",
    "freshness_lag_min": "data_staleness_minutes",
    "schema_errors": "invalid_record_failures",
}


def renamed(fleet: FleetData, names: dict[str, str]) -> FleetData:
    return FleetData(
        fleet.ts_ms,
        {
            service: ServiceData(
                data.kind, {names[m]: v for m, v in data.metrics.items()}, data.dependencies
            )
            for service, data in fleet.services.items()
        },
    )


def test_the_other_names_are_read_in_the_same_roles() -> None:
    for builtin, other in OTHER_NAMES.items():
        assert metric_role(builtin) == metric_role(other), (builtin, other)


def test_identical_behaviour_under_other_names_gets_the_same_probabilities() -> None:
    history = simulated_history(14, 5, seed=3)
    config = TrainConfig(horizons=(1, 24), tree_params={"n_estimators": 40}, use_lstm=False)
    model = train(build_dataset(history.fleet, history.incidents, (1, 24)), config).model
    fleet = simulated_history(9, 5, seed=11).fleet
    [builtin] = score_fleet(fleet, [model], explain=False)
    [other] = score_fleet(renamed(fleet, OTHER_NAMES), [model], explain=False)
    # Names that say nothing at all (role "other") still give a prediction, from behaviour.
    opaque = {m: f"m{i}" for i, m in enumerate(sorted(OTHER_NAMES))}
    [anonymous] = score_fleet(renamed(fleet, opaque), [model], explain=False)
    assert [s.service for s in builtin] == [s.service for s in other]
    for a, b in zip(builtin, other, strict=True):
        assert a.probability == b.probability, a.service
    spread = {round(s.probability[24], 6) for s in anonymous}
    assert len(spread) > 1  # not one constant answer for every service
