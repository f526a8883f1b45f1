"""Batch schemas. Limits that depend on settings and on the clock come in the validation
context (`IngestLimits`), so one schema serves the API, the simulator and the CLI."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from failcast.config import Settings
from failcast.kit.names import NAME_PATTERN, SERVICE_PATTERN
from failcast.models import LogLevel
from failcast.timeutil import now_ms, parse_ts

_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_labels: int
    max_label_value_length: int
    max_message_length: int
    earliest_ms: int
    latest_ms: int

    @classmethod
    def from_settings(cls, settings: Settings, now: int | None = None) -> IngestLimits:
        now = now_ms() if now is None else now
        return cls(
            max_labels=settings.max_labels,
            max_label_value_length=settings.max_label_value_length,
            max_message_length=settings.max_log_message_length,
            earliest_ms=now - int(settings.ingest_max_past.total_seconds() * 1000),
            latest_ms=now + int(settings.ingest_max_future.total_seconds() * 1000),
        )


def _limits(info: ValidationInfo) -> IngestLimits:
    limits = info.context.get("limits") if isinstance(info.context, dict) else None
    if not isinstance(limits, IngestLimits):
        raise RuntimeError("ingest schemas are validated with context={'limits': IngestLimits}")
    return limits


def _check_ts(value: Any, info: ValidationInfo) -> int:
    ms = parse_ts(value)
    limits = _limits(info)
    if ms < limits.earliest_ms:
        raise ValueError("timestamp is older than the accepted ingest window")
    if ms > limits.latest_ms:
        raise ValueError("timestamp is too far in the future")
    return ms


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=False)

    service: str = Field(min_length=1, max_length=128, pattern=SERVICE_PATTERN)
    ts: int = Field(description="RFC 3339 text with a zone, or Unix seconds.")

    @field_validator("ts", mode="before")
    @classmethod
    def _ts(cls, value: Any, info: ValidationInfo) -> int:
        return _check_ts(value, info)


class SampleIn(_Item):
    metric: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    labels: dict[str, str] = Field(default_factory=dict)
    value: float = Field(strict=True, description="A finite number.")

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        limits = _limits(info)
        if len(labels) > limits.max_labels:
            raise ValueError(f"at most {limits.max_labels} labels are allowed")
        for name, value in labels.items():
            if not _NAME.match(name) or len(name) > 200:
                raise ValueError(f"label name {name!r} must match {NAME_PATTERN}")
            if len(value) > limits.max_label_value_length:
                raise ValueError(
                    f"label {name!r} is longer than {limits.max_label_value_length} characters"
                )
        return labels


class MetricBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: list[SampleIn]


class LogIn(_Item):
    level: LogLevel = LogLevel.info
    message: str
    attributes: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        aliases = {"warn": "warning", "fatal": "critical", "err": "error"}
        if isinstance(value, str):
            value = value.lower()
            return aliases.get(value, value)
        return value

    @field_validator("message")
    @classmethod
    def _message(cls, message: str, info: ValidationInfo) -> str:
        limit = _limits(info).max_message_length
        if len(message) > limit:
            raise ValueError(f"message is longer than {limit} characters")
        return message


class LogBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    logs: list[LogIn]


class IngestResult(BaseModel):
    accepted: int = Field(description="Items stored (a re-sent item overwrites, never duplicates).")
    services_created: int = 0
    series_created: int = 0
