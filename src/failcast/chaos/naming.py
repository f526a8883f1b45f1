"""The simulated fleet's metrics under Prometheus / OpenTelemetry names and units.

The built-in names (`latency_p99_ms`, `cpu_pct`, ...) are the simulator's own. With
`prometheus_names` the same history reads as an exporter would write it: seconds instead of
milliseconds, bytes instead of percentages, ratios instead of percentages, and cumulative
counters (`_total`) instead of per-second rates. Anything that reads metrics by behaviour
rather than by name should not see a difference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from failcast.chaos.kinds import FloatArray
from failcast.chaos.signals import SeriesMatrix

GIB = 2.0**30
MEMORY_BYTES = 4 * GIB  # what 100 % of a simulated service's memory is
DISK_BYTES = 200 * GIB

NAMING_STYLES = ("builtin", "prometheus")


def _scale(factor: float) -> Callable[[FloatArray, FloatArray], FloatArray]:
    def convert(values: FloatArray, ts: FloatArray) -> FloatArray:
        return values * factor

    return convert


def _counter(per_second: float = 1.0) -> Callable[[FloatArray, FloatArray], FloatArray]:
    """A rate (per second, times `per_second`) accumulated into a counter from zero."""

    def convert(values: FloatArray, ts: FloatArray) -> FloatArray:
        dt = np.diff(ts, prepend=ts[0] - (ts[1] - ts[0] if ts.size > 1 else 60.0))
        increments = np.nan_to_num(values * per_second) * dt
        total: FloatArray = np.cumsum(np.maximum(increments, 0.0))
        # A missed scrape has no sample; the counter itself kept counting.
        return np.where(np.isnan(values), np.nan, total)

    return convert


def _count_events(values: FloatArray, ts: FloatArray) -> FloatArray:
    """Events counted per sample (a gauge of the last interval) accumulated into a counter."""
    total: FloatArray = np.cumsum(np.maximum(np.nan_to_num(values), 0.0))
    return np.where(np.isnan(values), np.nan, total)


# built-in name -> (Prometheus-style name, conversion of the values)
PROMETHEUS: dict[str, tuple[str, Callable[[FloatArray, FloatArray], FloatArray]]] = {
    "cpu_pct": ("process_cpu_seconds_total", _counter(1 / 100)),
    "memory_pct": ("process_resident_memory_bytes", _scale(MEMORY_BYTES / 100)),
    "latency_p50_ms": ("http_server_request_duration_seconds_p50", _scale(1 / 1000)),
    "latency_p99_ms": ("http_server_request_duration_seconds_p99", _scale(1 / 1000)),
    "error_rate": ("http_server_errors_ratio", _scale(1.0)),
    "throughput_rps": ("http_server_requests_total", _counter()),
    "availability": ("slo_availability_ratio", _scale(1.0)),
    "saturation": ("db_client_connections_usage_ratio", _scale(1.0)),
    "cost_usd_per_hour": ("cloud_cost_dollars_per_hour", _scale(1.0)),
    "disk_pct": ("node_filesystem_used_bytes", _scale(DISK_BYTES / 100)),
    "accuracy": ("model_accuracy_ratio", _scale(1.0)),
    "prediction_drift": ("model_prediction_drift_score", _scale(1.0)),
    "feature_drift": ("model_feature_drift_score", _scale(1.0)),
    "latency_ms": ("model_inference_duration_seconds", _scale(1 / 1000)),
    "cost_per_1k_predictions": ("model_cost_dollars_per_1k_predictions", _scale(1.0)),
    "traffic_rps": ("model_predictions_total", _counter()),
    "run_success_rate": ("pipeline_run_success_ratio", _scale(1.0)),
    "rows_processed": ("pipeline_rows_processed_total", _count_events),
    "freshness_lag_min": ("pipeline_freshness_lag_seconds", _scale(60.0)),
    "schema_errors": ("pipeline_schema_errors_total", _count_events),
}


def prometheus_names(matrix: SeriesMatrix) -> SeriesMatrix:
    """The same history with Prometheus-style names, units and counters."""
    rows = []
    series = []
    for (service, metric), values in zip(matrix.series, matrix.values, strict=True):
        name, convert = PROMETHEUS.get(metric, (metric, _scale(1.0)))
        series.append((service, name))
        rows.append(convert(values, matrix.ts))
    values = np.vstack(rows) if rows else matrix.values.copy()
    return SeriesMatrix(ts=matrix.ts, series=series, values=values)


def renamed(matrix: SeriesMatrix, style: str) -> SeriesMatrix:
    """`matrix` under the naming style `builtin` (unchanged) or `prometheus`."""
    if style == "builtin":
        return matrix
    if style == "prometheus":
        return prometheus_names(matrix)
    raise ValueError(f"unknown naming style {style!r}; choose one of {', '.join(NAMING_STYLES)}")
