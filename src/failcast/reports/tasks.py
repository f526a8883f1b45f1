"""The weekly report job on the app's runner."""

from __future__ import annotations

from fastapi import FastAPI

from failcast.auth.mailer import Mailer
from failcast.config import Settings
from failcast.reports.service import WeeklyReports

WEEKLY_TASK = "reports.weekly"
# Hourly checks make the weekly send idempotent and let it catch up after a restart.
CHECK_SECONDS = 3600.0


def install_reports(app: FastAPI) -> WeeklyReports:
    settings: Settings = app.state.settings

    def mailer() -> Mailer:
        current: Mailer = app.state.security.mailer
        return current

    weekly = WeeklyReports(
        app.state.db, mailer, weekday=settings.report_weekday, hour=settings.report_hour
    )
    app.state.reports = weekly
    app.state.runner.register(WEEKLY_TASK, weekly.run)
    app.state.runner.every(CHECK_SECONDS, WEEKLY_TASK)
    return weekly
