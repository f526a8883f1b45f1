"""A JSON column declared with a record type reads rows back as records and refuses values
that are not one."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from failcast.models._types import TypedJson
from failcast.signals import CauseCandidate, ExplainedFactor, RootCauseAnswer

FACTORS = TypedJson(list[ExplainedFactor])
CAUSE = TypedJson(RootCauseAnswer | None)
SQLITE = sqlite.dialect()


def test_records_are_written_as_plain_json_with_nan_as_null() -> None:
    factor = ExplainedFactor("memory__trend", "memory_pct", math.nan, 0.4, "memory_pct missing")
    assert FACTORS.process_bind_param([factor], SQLITE) == [
        {
            "feature": "memory__trend",
            "metric": "memory_pct",
            "value": None,
            "contribution": 0.4,
            "statement": "memory_pct missing",
        }
    ]


def test_rows_read_back_as_records_and_ignore_keys_the_record_lacks() -> None:
    stored = {
        "verdict": "conclusive",
        "service": "db",
        "metric": "latency_ms",
        "margin": 0.3,
        "reason": "db is the most anomalous",
        "summary": "db is the most anomalous; metric latency_ms",
        "candidates": [{"service": "db", "score": 0.9, "evidence": 0.8, "metrics": ["cpu"]}],
        "dropped_key": 1,
    }
    answer = CAUSE.process_result_value(stored, SQLITE)
    assert answer == RootCauseAnswer(
        "conclusive",
        "db",
        "latency_ms",
        0.3,
        "db is the most anomalous",
        "db is the most anomalous; metric latency_ms",
        (CauseCandidate("db", 0.9, 0.8, None, ("cpu",)),),
    )
    assert CAUSE.process_result_value(None, SQLITE) is None
    assert CAUSE.process_bind_param(answer, SQLITE) == answer.as_json() | {
        "candidates": [
            {
                "service": "db",
                "score": 0.9,
                "evidence": 0.8,
                "explained_by": None,
                "metrics": ["cpu"],
            }
        ]
    }


def test_a_value_that_is_not_the_record_is_refused_before_the_database() -> None:
    with pytest.raises(ValidationError, match="statement"):
        FACTORS.process_bind_param([{"feature": "x", "contribution": 1.0}], SQLITE)
    with pytest.raises(ValidationError, match="verdict"):
        CAUSE.process_bind_param({"verdict": "maybe"}, SQLITE)


def test_postgresql_keeps_it_as_jsonb() -> None:
    assert isinstance(FACTORS.load_dialect_impl(postgresql.dialect()), postgresql.JSONB)
