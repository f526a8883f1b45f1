"""The audit log: `record()` adds an event to the caller's transaction.

Any domain records what people and keys do with
`audit.record(session, org_id, actor, "export.created", target, {"rows": n})`; the event is
written by the caller's own commit, so it exists exactly when the change it describes does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth.principal import Principal
from failcast.models import AuditEvent, User

Actor = Principal | User | str | None


class Action:
    """The actions the accounts domains record; other domains use their own `noun.verb`."""

    login = "auth.login"
    login_failed = "auth.login_failed"
    lockout = "auth.lockout"
    logout = "auth.logout"
    logout_all = "auth.logout_all"
    session_revoked = "auth.session_revoked"
    refresh_reuse = "auth.refresh_token_reused"
    password_changed = "auth.password_changed"
    password_reset = "auth.password_reset"
    email_verified = "auth.email_verified"
    identity_linked = "auth.identity_linked"
    key_created = "api_key.created"
    key_revoked = "api_key.revoked"
    member_added = "member.added"
    member_removed = "member.removed"
    role_changed = "member.role_changed"
    ownership_transferred = "org.ownership_transferred"
    org_created = "org.created"
    org_updated = "org.updated"
    invitation_created = "invitation.created"
    invitation_revoked = "invitation.revoked"
    invitation_accepted = "invitation.accepted"
    invitation_declined = "invitation.declined"
    user_disabled = "admin.user_disabled"
    user_enabled = "admin.user_enabled"
    plan_changed = "admin.plan_changed"


def _actor_fields(actor: Actor) -> tuple[int | None, int | None, str, str]:
    if isinstance(actor, Principal):
        return actor.user_id, actor.api_key_id, actor.label, actor.ip
    if isinstance(actor, User):
        return actor.id, None, actor.email, ""
    return None, None, actor or "", ""


def record(
    session: AsyncSession,
    org_id: int | None,
    actor: Actor,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    *,
    ip: str = "",
) -> AuditEvent:
    """Add one audit event to `session`; it is saved by the caller's next commit.

    `actor` is the request's Principal, a User, a free-text label (e.g. an email that failed to
    sign in) or None for the system. `details` must never hold secrets.
    """
    user_id, key_id, label, actor_ip = _actor_fields(actor)
    event = AuditEvent(
        org_id=org_id,
        actor_user_id=user_id,
        actor_api_key_id=key_id,
        actor=label[:320],
        action=action,
        target=target[:200],
        details=details or {},
        ip=(ip or actor_ip)[:64],
    )
    session.add(event)
    return event
