from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, EnumText
from failcast.models._types import BigId, Json


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


class LogEntry(Base):
    """A log line of a service. `ts` is milliseconds since the epoch, UTC.

    `fingerprint` hashes level, message and attributes, so a re-sent batch adds nothing.
    """

    __tablename__ = "log_entry"
    __table_args__ = (
        UniqueConstraint("service_id", "ts", "fingerprint"),
        Index("ix_log_entry_org_ts", "org_id", "ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    ts: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[LogLevel] = mapped_column(EnumText(LogLevel, 10))
    message: Mapped[str] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(Json)
    fingerprint: Mapped[str] = mapped_column(String(32))
