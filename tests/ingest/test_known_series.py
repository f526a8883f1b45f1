"""Known series across batches: validation and id lookups are done once per series, not once
per batch, and the org's series limits still hold."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select

from failcast.deps import services_of
from failcast.errors import FailcastError
from failcast.ingest import validate
from failcast.ingest.cache import Lru
from failcast.ingest.limits import SeriesBudget, SeriesLimits
from failcast.ingest.schemas import IngestLimits
from failcast.ingest.service import Ingestor
from failcast.ingest.validate import KnownSeries, validate_batch
from failcast.models import Organization, Sample, Series

NOW_MS = 1_800_000_000_000
LIMITS = IngestLimits(
    max_labels=32,
    max_label_value_length=256,
    earliest_ms=NOW_MS - 86_400_000,
    latest_ms=NOW_MS + 86_400_000,
    max_message_length=1000,
)


def samples(labels: list[dict[str, str]], at: float, metric: str = "latency_ms") -> list[Any]:
    return [
        {"service": "api", "metric": metric, "labels": dict(one), "ts": at + i, "value": 1.0}
        for i, one in enumerate(labels)
    ]


class Counting:
    """Counts calls of a function it stands in for."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.real(*args, **kwargs)


def test_a_known_series_skips_validation_in_later_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = Counting(validate._Checker.labels)
    monkeypatch.setattr(validate._Checker, "labels", lambda self, value: checks(self, value))
    encodes = Counting(validate.json.dumps)
    monkeypatch.setattr(validate.json, "dumps", encodes)
    known = KnownSeries()
    sent = [{"path": "/a"}, {"path": "/b"}, {"path": "/a"}, {}]
    at = NOW_MS / 1000
    first, problems = validate_batch(samples(sent * 50, at), LIMITS, known)
    assert problems == []
    assert (checks.calls, encodes.calls) == (3, 3)  # once per series, not per sample
    second, problems = validate_batch(samples(sent * 50, at + 500), LIMITS, known)
    assert problems == []
    assert (checks.calls, encodes.calls) == (3, 3)
    assert second.series == first.series
    assert second.labels == first.labels
    assert len(second) == 200
    # The same labels in another order are another raw key: checked once, same series.
    third, _ = validate_batch(
        samples([{"b": "2", "a": "1"}, {"a": "1", "b": "2"}], at), LIMITS, known
    )
    assert checks.calls == 5
    assert third.series[0] == third.series[-1] and len(third.series) == 1


def test_a_known_series_still_has_its_samples_checked() -> None:
    known = KnownSeries()
    at = NOW_MS / 1000
    validate_batch(samples([{"path": "/a"}], at), LIMITS, known)
    late = samples([{"path": "/a"}], at + 2 * 86_400)
    bad = samples([{"path": "/a"}], at)
    bad[0]["value"] = float("nan")
    batch, problems = validate_batch([*late, *bad], LIMITS, known)
    assert [(p["index"], p["field"]) for p in problems] == [(0, "ts"), (1, "value")]
    assert len(batch) == 0


def test_a_label_set_refused_once_is_refused_again() -> None:
    known = KnownSeries()
    at = NOW_MS / 1000
    bad = samples([{"bad-name": "x"}], at)
    for _ in range(2):
        _, problems = validate_batch(bad, LIMITS, known)
        assert [p["field"] for p in problems] == ["labels"]
    assert len(known) == 0


def test_the_caches_are_bounded_and_forget_the_least_recent() -> None:
    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the least recent
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    assert cache.get_many(["c", "b", "a"]) == [3, None, 1]  # now "c" is the least recent
    cache.put("d", 4)
    assert "c" not in cache and "a" in cache
    known = KnownSeries(size=2)
    at = NOW_MS / 1000
    validate_batch(samples([{"n": "1"}, {"n": "2"}, {"n": "3"}], at), LIMITS, known)
    assert len(known) == 2


async def _org(app: FastAPI) -> int:
    async with services_of(app).db.session() as session:
        org = Organization(name="o", slug="o")
        session.add(org)
        await session.commit()
        return org.id


async def _ingest(app: FastAPI, ingestor: Ingestor, org_id: int, items: list[Any]) -> Any:
    batch, problems = validate_batch(items, LIMITS, ingestor.known)
    assert problems == []
    async with services_of(app).db.session() as session:
        return await ingestor.ingest_batch(session, org_id, batch)


async def _count(app: FastAPI, table: Any) -> int:
    async with services_of(app).db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def _statements(app: FastAPI) -> tuple[list[str], Any]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    return seen, record


async def test_a_batch_of_known_series_reads_and_writes_no_series(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    org_id = await _org(app)
    ingestor = Ingestor()
    at = NOW_MS / 1000
    labels = [{"path": f"/{i}"} for i in range(20)]
    first = await _ingest(app, ingestor, org_id, samples(labels, at))
    assert first.series_created == 20
    puts = Counting(Lru.put)
    monkeypatch.setattr(Lru, "put", lambda self, key, value: puts(self, key, value))
    engine = services_of(app).db.engine.sync_engine
    seen, record = _statements(app)
    event.listen(engine, "before_cursor_execute", record)
    try:
        again = await _ingest(app, ingestor, org_id, samples(labels, at + 100))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (again.accepted, again.series_created) == (20, 0)
    assert puts.calls == 0  # nothing is written back to the caches
    assert not [s for s in seen if "series" in s.lower() and "sample" not in s.lower()]


async def test_an_org_at_its_limit_keeps_its_known_series_and_a_refused_batch_stores_nothing(
    app: FastAPI,
) -> None:
    org_id = await _org(app)
    ingestor = Ingestor(budget=SeriesBudget(SeriesLimits(max_series=2, per_minute=100)))
    at = NOW_MS / 1000
    await _ingest(app, ingestor, org_id, samples([{"n": "1"}, {"n": "2"}], at))
    assert await _count(app, Sample) == 2
    # Known series are never refused, even at the cap.
    result = await _ingest(app, ingestor, org_id, samples([{"n": "1"}, {"n": "2"}], at + 10))
    assert result.accepted == 2
    # A known series with a new one: the whole batch is refused, the known sample too.
    with pytest.raises(FailcastError) as refused:
        await _ingest(app, ingestor, org_id, samples([{"n": "1"}, {"n": "3"}], at + 20))
    assert refused.value.status_code == 403
    assert await _count(app, Sample) == 4
    assert await _count(app, Series) == 2


async def test_after_a_restart_known_series_are_found_in_the_store(app: FastAPI) -> None:
    org_id = await _org(app)
    limits = SeriesLimits(max_series=2, per_minute=100)
    at = NOW_MS / 1000
    before = Ingestor(budget=SeriesBudget(limits))
    await _ingest(app, before, org_id, samples([{"n": "1"}, {"n": "2"}], at))
    after = Ingestor(budget=SeriesBudget(limits))  # a new process: empty caches
    result = await _ingest(app, after, org_id, samples([{"n": "2"}, {"n": "1"}], at + 10))
    assert (result.accepted, result.series_created) == (2, 0)
    assert await _count(app, Series) == 2
    async with services_of(app).db.session() as session:
        rows = await session.execute(
            select(Sample.series_id, func.count()).group_by(Sample.series_id)
        )
        assert sorted(n for _, n in rows) == [2, 2]
