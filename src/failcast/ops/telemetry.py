"""Failcast's own Prometheus metrics, on a registry per app so tests stay isolated."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "failcast_http_requests",
            "HTTP requests served, by route template, method and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "failcast_http_request_duration_seconds",
            "HTTP request latency, by route template and method.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.samples_ingested = Counter(
            "failcast_ingested_samples", "Samples accepted by ingestion.", registry=self.registry
        )
        self.logs_ingested = Counter(
            "failcast_ingested_logs", "Log lines accepted by ingestion.", registry=self.registry
        )
        self.job_retries = Counter(
            "failcast_job_retries",
            "Background tasks (or one org's share of one) tried again after a transient "
            "store error, by task.",
            ["task"],
            registry=self.registry,
        )
        self.job_failures = Counter(
            "failcast_job_failures",
            "Background tasks (or one org's share of one) that failed for good, by task.",
            ["task"],
            registry=self.registry,
        )
        self.batches_rejected = Counter(
            "failcast_ingest_rejected_batches",
            "Ingest batches refused whole, by HTTP status.",
            ["status"],
            registry=self.registry,
        )

    # The jobs' JobEvents: retries and final failures of background work.
    def retried(self, task: str) -> None:
        self.job_retries.labels(task).inc()

    def failed(self, task: str) -> None:
        self.job_failures.labels(task).inc()
