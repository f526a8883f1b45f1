"""Mitigation playbooks per incident type: the shipped steps, or the org's own."""

from __future__ import annotations

from fastapi import APIRouter

from failcast.alerting import context as alert_context
from failcast.alerting.schemas import (
    PlaybookIn,
    PlaybookOut,
)
from failcast.auth.principal import CanRead, CanWrite
from failcast.deps import SessionDep
from failcast.models.incident import IncidentType

playbooks = APIRouter(prefix="/playbooks", tags=["alerting"])


@playbooks.get("", response_model=list[PlaybookOut], operation_id="list_playbooks")
async def list_playbooks(principal: CanRead, session: SessionDep) -> list[PlaybookOut]:
    """Mitigation steps per incident type: the org's own, or the shipped defaults."""
    books = await alert_context.playbooks(session, principal.org_id)
    return [
        PlaybookOut(incident_type=IncidentType(kind), steps=steps, customised=custom)
        for kind, (steps, custom) in books.items()
    ]


@playbooks.put("/{incident_type}", response_model=PlaybookOut, operation_id="set_playbook")
async def set_playbook(
    incident_type: IncidentType, body: PlaybookIn, principal: CanWrite, session: SessionDep
) -> PlaybookOut:
    """Replace the org's steps for one incident type; new alerts recommend them."""
    await alert_context.set_playbook(session, principal.org_id, incident_type.value, body.steps)
    return PlaybookOut(incident_type=incident_type, steps=body.steps, customised=True)


@playbooks.delete("/{incident_type}", response_model=PlaybookOut, operation_id="reset_playbook")
async def reset_playbook(
    incident_type: IncidentType, principal: CanWrite, session: SessionDep
) -> PlaybookOut:
    """Go back to the shipped steps for one incident type."""
    await alert_context.reset_playbook(session, principal.org_id, incident_type.value)
    steps = alert_context.default_playbooks()[incident_type.value]
    return PlaybookOut(incident_type=incident_type, steps=steps, customised=False)
