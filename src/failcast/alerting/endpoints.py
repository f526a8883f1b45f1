"""Every alerting route under one router, so that the app adds all of alerting with one line:
rules, alerts and their lifecycle, silences, maintenance windows, playbooks and incidents."""

from __future__ import annotations

from fastapi import APIRouter

from failcast.alerting.alert_endpoints import alerts
from failcast.alerting.incident_endpoints import router as incidents
from failcast.alerting.maintenance_endpoints import maintenance
from failcast.alerting.playbook_endpoints import playbooks
from failcast.alerting.rule_endpoints import rules
from failcast.alerting.silence_endpoints import silences

router = APIRouter(prefix="/api/v1")
for _sub in (rules, alerts, silences, maintenance, playbooks, incidents):
    router.include_router(_sub)
