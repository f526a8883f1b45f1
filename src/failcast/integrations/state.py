"""What the integrations keep on the services' container, and the periodic scrape job's
registration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from failcast.integrations.exporters import DEFAULT_EXPORTERS
from failcast.integrations.ml import PredictionLog
from failcast.integrations.results import RESULT_EXPORTERS
from failcast.integrations.scrape import scrape_due_targets
from failcast.integrations.sources import install_discovery

if TYPE_CHECKING:
    from failcast.services import Services

SCRAPE_TASK = "integrations.scrape_due_targets"
# Targets have their own intervals; this is only how often the job looks for due ones.
SCRAPE_TICK_SECONDS = 1.0


@dataclass
class Integrations:
    predictions: PredictionLog
    dropped: Counter


def install(services: Services) -> None:
    """Put the integrations' state on the container and schedule the scrape job."""
    state = services
    state.exporters = DEFAULT_EXPORTERS.copy()
    for exporter in RESULT_EXPORTERS:
        state.exporters.register(exporter)
    state.integrations = Integrations(
        predictions=PredictionLog(state.ingestor),
        dropped=Counter(
            "failcast_integration_dropped_samples",
            "Samples received from Prometheus or OTLP and not stored, by source and reason.",
            ["source", "reason"],
            registry=state.telemetry.registry,
        ),
    )

    async def scrape(**_: Any) -> None:
        await scrape_due_targets(state.db, state.ingestor, state.settings, egress=state.egress)

    state.runner.register(SCRAPE_TASK, scrape)
    state.runner.every(SCRAPE_TICK_SECONDS, SCRAPE_TASK)
    install_discovery(services)
