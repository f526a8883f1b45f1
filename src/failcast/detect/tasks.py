"""Background work and alert signals of the detection domain, installed on the app."""

from __future__ import annotations

from fastapi import FastAPI

from failcast.detect.service import LiveScoring, RunReport
from failcast.detect.signals import DriftSignals, ForecastBreachSignals
from failcast.jobs.runner import OrgJob

SCORE_TASK = "detect.score"
# Live scores trail the data by at most this long (plus one run's duration).
SCORE_SECONDS = 10.0


def install_detection(app: FastAPI) -> None:
    """Live scoring on the runner, and the drift and forecast_breach alert signals."""
    app.state.live_scoring = LiveScoring(app.state.db)
    live: LiveScoring = app.state.live_scoring

    async def run_org(org_id: int, now: int) -> RunReport:
        report = await live.run_org(org_id, now)
        # A service whose anomaly score rose past the alarm threshold is re-scored at once.
        rescorer = getattr(app.state, "rescorer", None)
        if report.alarmed and rescorer is not None:
            await rescorer.anomaly_alarmed(org_id, report.alarmed)
        return report

    app.state.runner.register(SCORE_TASK, OrgJob(SCORE_TASK, live.org_ids, run_org))
    app.state.runner.every(SCORE_SECONDS, SCORE_TASK)
    signals = getattr(app.state, "alert_signals", None)
    if signals is not None:
        signals.register("drift", DriftSignals())
        signals.register("forecast_breach", ForecastBreachSignals())
