from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow


def new_session_key() -> str:
    return secrets.token_urlsafe(32)


class AuthSession(Base):
    """One signed-in device: the family of refresh tokens that rotate from one login.

    Access tokens name their session; revoking it refuses them at once, and reusing an
    already-rotated refresh token revokes the whole family.
    """

    __tablename__ = "auth_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What access tokens name (`sid`): random, so that a token cannot be made for a session
    # by counting, even by someone who knows how tokens are signed.
    key: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_key)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    # The org the session acts in; switching orgs moves it.
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    method: Mapped[str] = mapped_column(String(40), default="password")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(100))
