from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from failcast.models import ReportTrigger


class ReportIn(BaseModel):
    start: str | None = Field(default=None, description="RFC 3339 or Unix seconds; end - 7 d.")
    end: str | None = Field(default=None, description="RFC 3339 or Unix seconds; now.")


class ReportOut(BaseModel):
    id: int
    period_start: datetime
    period_end: datetime
    trigger: ReportTrigger
    size: int
    created_at: datetime
    url: str


class ReportList(BaseModel):
    reports: list[ReportOut]


class SubscriberIn(BaseModel):
    email: EmailStr


class SubscriberOut(BaseModel):
    id: int
    email: str
    created_at: datetime


class SubscriberList(BaseModel):
    subscribers: list[SubscriberOut]
