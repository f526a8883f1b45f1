"""Background work and alert signals of the detection domain, installed on the services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from failcast.detect.service import LiveScoring, RunReport
from failcast.detect.signals import DriftSignals, ForecastBreachSignals
from failcast.jobs.runner import OrgJob

if TYPE_CHECKING:
    from failcast.services import Services

SCORE_TASK = "detect.score"
# Live scores trail the data by at most this long (plus one run's duration).
SCORE_SECONDS = 10.0


def install_detection(services: Services) -> None:
    """Live scoring on the runner, and the drift and forecast_breach alert signals."""
    live = services.live_scoring = LiveScoring(services.db)

    async def run_org(org_id: int, now: int) -> RunReport:
        report = await live.run_org(org_id, now)
        # A service whose anomaly score rose past the alarm threshold is re-scored at once.
        rescorer = services.rescorer
        if report.alarmed and rescorer is not None:
            await rescorer.anomaly_alarmed(org_id, report.alarmed)
        return report

    services.runner.register(SCORE_TASK, OrgJob(SCORE_TASK, live.org_ids, run_org))
    services.runner.every(SCORE_SECONDS, SCORE_TASK)
    services.alert_signals.register("drift", DriftSignals())
    services.alert_signals.register("forecast_breach", ForecastBreachSignals())
