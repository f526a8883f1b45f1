from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from failcast.store.ranges import Aggregation


class SeriesOut(BaseModel):
    id: int
    service: str
    metric: str
    labels: dict[str, str]
    points: list[tuple[float, float]] = Field(
        description="[unix_seconds, value] pairs; with a step, each stamped at its bucket's start."
    )


class MetricsOut(BaseModel):
    start: datetime
    end: datetime
    step_seconds: float | None
    agg: Aggregation
    series: list[SeriesOut]


class LogOut(BaseModel):
    id: int
    service: str
    ts: datetime
    level: str
    message: str
    attributes: dict[str, Any]


class LogPage(BaseModel):
    logs: list[LogOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next, older page.")


class StatsOut(BaseModel):
    services: int
    series: int
    samples: int
    logs: int
    oldest_sample_at: datetime | None
    newest_sample_at: datetime | None
