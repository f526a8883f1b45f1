"""The fast validator and the documented schema accept and refuse the same samples."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from failcast.config import Settings
from failcast.errors import problems_from_pydantic
from failcast.ingest.schemas import IngestLimits, SampleIn
from failcast.ingest.validate import SampleBatch, labels_key, validate_batch, validate_samples

NOW_MS = 1_800_000_000_000
LIMITS = IngestLimits.from_settings(Settings(env="test"), now=NOW_MS)
OK: dict[str, Any] = {
    "service": "checkout",
    "metric": "latency_ms",
    "labels": {"region": "eu"},
    "ts": NOW_MS / 1000 - 60,
    "value": 1.5,
}

CASES: list[dict[str, Any]] = [
    OK,
    OK | {"labels": {}},
    {k: v for k, v in OK.items() if k != "labels"},
    OK | {"ts": "2027-01-15T08:00:00Z"},
    OK | {"ts": "2027-01-15T10:00:00+02:00"},
    OK | {"value": 3},
    OK | {"metric": "ns:http_requests:rate5m"},
    OK | {"service": "api-gateway.v2"},
    OK | {"value": float("nan")},
    OK | {"value": float("inf")},
    OK | {"value": "12"},
    OK | {"value": True},
    OK | {"metric": "2xx"},
    OK | {"metric": "a b"},
    OK | {"metric": ""},
    OK | {"service": "-lead"},
    OK | {"service": ""},
    OK | {"service": 7},
    OK | {"labels": {"a-b": "x"}},
    OK | {"labels": {"ok": 5}},
    OK | {"labels": {f"l{i}": "v" for i in range(40)}},
    OK | {"labels": {"long": "x" * 300}},
    OK | {"labels": ["a"]},
    OK | {"ts": "2027-01-15T08:00:00"},
    OK | {"ts": "soon"},
    OK | {"ts": NOW_MS / 1000 - 200 * 86400},
    OK | {"ts": NOW_MS / 1000 + 86400},
    OK | {"extra": 1},
    {"service": "x"},
]


def schema_verdict(item: dict[str, Any]) -> set[str]:
    try:
        SampleIn.model_validate(item, context={"limits": LIMITS})
    except ValidationError as exc:
        return {p["field"].split(".")[0] for p in problems_from_pydantic(exc.errors())}
    return set()


@pytest.mark.parametrize("item", CASES, ids=range(len(CASES)))
def test_fast_validator_agrees_with_the_schema(item: dict[str, Any]) -> None:
    valid, problems = validate_samples([item], LIMITS)
    assert {p["field"] for p in problems} == schema_verdict(item)
    assert len(valid) == (0 if problems else 1)
    if valid:
        model = SampleIn.model_validate(item, context={"limits": LIMITS})
        assert (valid[0].ts, valid[0].value, valid[0].labels) == (
            model.ts,
            model.value,
            model.labels,
        )


def test_label_order_does_not_change_the_series_key() -> None:
    valid, _ = validate_samples(
        [OK | {"labels": {"a": "1", "b": "2"}}, OK | {"labels": {"b": "2", "a": "1"}}], LIMITS
    )
    assert valid[0].labels_key == valid[1].labels_key == labels_key({"a": "1", "b": "2"})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ts": float("inf")}, "ts"),
        ({"ts": float("nan")}, "ts"),
        ({"labels": {"region": ["eu"]}}, "labels"),
        ({"value": 10**400}, "value"),
    ],
)
def test_a_bad_sample_of_an_accepted_series_is_named_not_fatal(
    change: dict[str, Any], field: str
) -> None:
    valid, problems = validate_samples([OK, OK | change, OK], LIMITS)
    assert problems == [{"index": 1, "field": field, "msg": problems[0]["msg"]}]
    assert len(valid) == 2


def test_a_batch_keeps_each_series_once_and_every_sample_in_order() -> None:
    other = OK | {"labels": {"region": "us"}}
    items = [OK, other, OK | {"value": 2.5}, other | {"ts": OK["ts"] + 1}]
    batch, problems = validate_batch(items, LIMITS)
    assert problems == []
    eu, us = '[["region","eu"]]', '[["region","us"]]'
    assert batch.series == [("checkout", "latency_ms", eu), ("checkout", "latency_ms", us)]
    assert batch.index == [0, 1, 0, 1]
    start = NOW_MS - 60_000
    assert batch.ts == [start, start, start, start + 1000]
    assert batch.values == [1.5, 1.5, 2.5, 1.5]
    assert validate_samples(items, LIMITS)[0] == batch.samples()


def test_a_batch_of_columns_slices_and_reads_as_the_same_batch_of_lists() -> None:
    items = [OK | {"labels": {"region": r}, "ts": OK["ts"] + i} for i, r in enumerate("abcab")]
    listed, _ = validate_batch(items, LIMITS)
    columns = SampleBatch(series=list(listed.series), labels=list(listed.labels))
    columns.set_arrays(*listed.arrays())
    assert len(columns) == len(listed) == 5
    for start, stop in ((0, 5), (1, 3), (3, 5), (2, 2)):
        a, b = listed.slice(start, stop), columns.slice(start, stop)
        assert (a.series, len(a)) == (b.series, len(b))
        assert [x.tolist() for x in a.arrays()] == [x.tolist() for x in b.arrays()]
        assert a.samples() == b.samples()
    with pytest.raises(ValueError, match="already holds samples"):
        listed.set_arrays(*listed.arrays())


def test_a_batch_places_each_series_once_and_none_nowhere() -> None:
    batch = SampleBatch()
    a, b = ("checkout", "latency_ms", "{}"), ("checkout", "errors", "{}")
    assert batch.place([a, None, b, a], [{}, {"x": "1"}, {}, {}]) == [0, -1, 1, 0]
    assert batch.position(b, {}) == 1 and batch.position(("api", "up", "{}"), {}) == 2
    assert batch.series == [a, b, ("api", "up", "{}")] and len(batch.labels) == 3
