"""The public API with samples in Prometheus (its remote-write receiver and query API): the
embedded store's own tests, run again against it."""

from __future__ import annotations

import pytest
from ingest.test_metrics_ingest import test_thousand_samples_round_trip_with_step_aggregation
from metrics_engines import prometheus_backend
from slo.test_slo_api import test_status_from_throughput_and_error_rate

from failcast.config import Settings

__all__ = [
    "prometheus_backend",
    "test_status_from_throughput_and_error_rate",
    "test_thousand_samples_round_trip_with_step_aggregation",
]


@pytest.fixture
def settings(settings: Settings, prometheus_backend: str) -> Settings:
    return settings.model_copy(update={"metrics_backend": prometheus_backend})
