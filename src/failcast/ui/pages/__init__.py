"""Every dashboard page; `register_pages` adds them to NiceGUI's application."""

from __future__ import annotations

from failcast.ui.pages.admin import register_admin_page
from failcast.ui.pages.alerts import register_alerts_page
from failcast.ui.pages.auth import register_auth_pages
from failcast.ui.pages.chaos import register_chaos_page
from failcast.ui.pages.not_found import register_not_found_page
from failcast.ui.pages.overview import register_overview_page
from failcast.ui.pages.reliability import register_reliability_pages
from failcast.ui.pages.reports import register_reports_page
from failcast.ui.pages.service import register_service_page
from failcast.ui.pages.settings import register_settings_page
from failcast.ui.pages.teams import register_teams_page
from failcast.ui.pages.topology import register_topology_page


def register_pages() -> None:
    register_auth_pages()
    register_overview_page()
    register_service_page()
    register_topology_page()
    register_chaos_page()
    register_alerts_page()
    register_reliability_pages()
    register_reports_page()
    register_teams_page()
    register_settings_page()
    register_admin_page()
    register_not_found_page()
