"""The weekly report job on the services' runner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from failcast.auth.mailer import Mailer
from failcast.reports.service import WeeklyReports

if TYPE_CHECKING:
    from failcast.services import Services

WEEKLY_TASK = "reports.weekly"
# Hourly checks make the weekly send idempotent and let it catch up after a restart.
CHECK_SECONDS = 3600.0


def install_reports(services: Services) -> WeeklyReports:
    settings = services.settings

    def mailer() -> Mailer:
        return services.security.mailer

    weekly = WeeklyReports(
        services.db, mailer, weekday=settings.report_weekday, hour=settings.report_hour
    )
    services.reports = weekly
    services.runner.register(WEEKLY_TASK, weekly.run)
    services.runner.every(CHECK_SECONDS, WEEKLY_TASK)
    return weekly
