"""Samples kept in a Prometheus-compatible engine: remote_write in, the HTTP API out.

Every sample goes out as a series with the labels of its catalogue entry (`__name__` = the
metric, the series' labels, `service`) plus `failcast_org` (the tenant) and `failcast_series`
(the catalogue id). Reads always match on both, so an org never reads another's samples and a
series never reads a neighbour whose label set is a superset of its own.

A write is done when the engine answered 2xx to it; an engine that cannot be reached, or
answers 5xx or 429, makes the write raise `Unavailable` (503 with Retry-After) and the caller
rolls back whatever else it had pending, so a batch is stored completely or not at all.
Reads answer exactly as the embedded store does (points stamped with their bucket's start,
ranges [start, end)): VictoriaMetrics aggregates the whole buckets of the settled past with
`*_over_time` over `query_range`; everything else is read raw and bucketed here.

A read-only source (FAILCAST_METRICS_SOURCE) is a team's own engine: Failcast never writes to
it. Its series are recorded in the catalogue with `labels_key` prefixed by `source:`
(integrations/sources.py) and read back by their own label set, matched exactly; every other
series, and every write, goes to the embedded store.
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

import cramjam
import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.config import MetricsEngine, Settings
from failcast.db.engine import METRICS_INFO_KEY, Database
from failcast.errors import Unavailable, ValidationFailed
from failcast.models import Series, Service
from failcast.proto import remote_pb2
from failcast.timeutil import now_ms

if TYPE_CHECKING:
    from failcast.store.samples import Aggregation

log = logging.getLogger("failcast.store.remote")

ORG_LABEL = "failcast_org"
SERIES_LABEL = "failcast_series"
# How long a client is asked to wait when the engine is down, in seconds.
ENGINE_RETRY_AFTER = 5
# Series ids per read request: the matcher travels in a form body, but stays readable.
READ_CHUNK = 500
# How far back summaries look: further than any retention an engine is likely to keep.
SUMMARY_WINDOW = "3650d"
# Buckets that ended this long ago are aggregated by VictoriaMetrics; later samples may still
# be settling (its -search.latencyOffset is 30 s) and are read raw.
SETTLED_MS = 5 * 60_000
# query_range answers at most this many points per series (-search.maxPointsPerTimeseries).
MAX_ENGINE_POINTS = 30_000
# How far back "the newest sample" is looked for: a series silent for longer has none.
LATEST_WINDOW = "1d"
# The `labels_key` prefix of series discovered in a read-only source.
SOURCE_KEY_PREFIX = "source:"
# Set in a session's info while a read-only source hands its other series to the embedded store.
_EMBEDDED_KEY = "failcast.metrics_embedded"
# Catalogue entries kept in memory; a series' labels never change, so entries never go stale.
MAX_CACHED_SERIES = 500_000


LabelSet = frozenset[tuple[str, str]]


class SampleSummary(NamedTuple):
    """How many samples a set of series holds, and the times of the first and the last."""

    samples: int
    oldest_ms: int | None
    newest_ms: int | None


class SeriesLabels(NamedTuple):
    org_id: int
    labels: tuple[tuple[str, str], ...]  # sorted by name, as remote_write asks
    # Discovered in a read-only source: `labels` are the source's own.
    external: bool = False


def engine_labels(
    org_id: int, series_id: int, service: str, metric: str, labels: dict[str, str]
) -> tuple[tuple[str, str], ...]:
    """The engine's label set for one catalogue series; Failcast's own labels win."""
    merged = {k: v for k, v in labels.items() if v}
    merged |= {
        "__name__": metric,
        "service": service,
        ORG_LABEL: str(org_id),
        SERIES_LABEL: str(series_id),
    }
    return tuple(sorted(merged.items()))


def bucket(
    points: Iterable[tuple[int, float]], start_ms: int, step_ms: int, agg: str
) -> list[tuple[int, float]]:
    """One point per non-empty bucket of `step_ms` from `start_ms`, stamped with its start;
    `points` sorted by time."""
    out: list[tuple[int, float]] = []
    current: int | None = None
    values: list[float] = []

    def close() -> None:
        if current is not None and values:
            out.append((current, _reduce(values, agg)))

    for ts, value in points:
        slot = (ts - start_ms) // step_ms * step_ms + start_ms
        if slot != current:
            close()
            current, values = slot, []
        values.append(value)
    close()
    return out


def _reduce(values: list[float], agg: str) -> float:
    if agg == "avg":
        return math.fsum(values) / len(values)
    if agg == "min":
        return min(values)
    if agg == "max":
        return max(values)
    if agg == "sum":
        return math.fsum(values)
    if agg == "count":
        return float(len(values))
    return values[-1]


class RemoteSamples:
    """The configured engine, its HTTP client and a cache of the catalogue's label sets."""

    def __init__(
        self,
        engine: MetricsEngine,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], int] = now_ms,
        read_only: bool = False,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.read_only = read_only
        headers = {"X-Scope-OrgID": engine.tenant} if engine.tenant else None
        self.client = httpx.AsyncClient(timeout=timeout, transport=transport, headers=headers)
        self._series: dict[int, SeriesLabels] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _labels(self, session: AsyncSession, ids: Iterable[int]) -> dict[int, SeriesLabels]:
        wanted = set(ids)
        missing = wanted - self._series.keys()
        if missing:
            if len(self._series) + len(missing) > MAX_CACHED_SERIES:
                self._series.clear()
            rows = await session.execute(
                select(
                    Series.id,
                    Series.org_id,
                    Series.metric,
                    Series.labels,
                    Series.labels_key,
                    Service.name,
                )
                .join(Service, Service.id == Series.service_id)
                .where(Series.id.in_(sorted(missing)))
            )
            for row in rows.all():
                if row.labels_key.startswith(SOURCE_KEY_PREFIX):
                    own = tuple(sorted({**row.labels, "__name__": row.metric}.items()))
                    self._series[row.id] = SeriesLabels(row.org_id, own, external=True)
                    continue
                self._series[row.id] = SeriesLabels(
                    row.org_id,
                    engine_labels(row.org_id, row.id, row.name, row.metric, dict(row.labels)),
                )
        return {i: self._series[i] for i in wanted if i in self._series}

    async def write_sample_columns(
        self, session: AsyncSession, series_ids: list[int], ts: list[int], values: list[float]
    ) -> int:
        """Send the samples in one remote_write request; return when the engine has them."""
        if self.read_only:
            from failcast.store import samples as embedded_store

            with _embedded(session):
                return await embedded_store.write_sample_columns(session, series_ids, ts, values)
        known = await self._labels(session, series_ids)
        per_series: dict[int, dict[int, float]] = defaultdict(dict)
        for series_id, at, value in zip(series_ids, ts, values, strict=True):
            if series_id not in known:
                raise ValueError(f"series {series_id} is not in the catalogue")
            per_series[series_id][at] = value  # the last of a repeated (series, ts) wins
        request = remote_pb2.WriteRequest()
        for series_id, samples in per_series.items():
            item = request.timeseries.add()
            item.labels.extend(remote_pb2.Label(name=k, value=v) for k, v in known[series_id][1])
            item.samples.extend(
                remote_pb2.Sample(timestamp=at, value=samples[at]) for at in sorted(samples)
            )
        body = bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
        headers = {
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
        }
        answer = await self._call(
            lambda: self.client.post(self.engine.write_url, content=body, headers=headers)
        )
        if 400 <= answer.status_code < 500 and answer.status_code != 429:
            # The engine refused these samples for good (Prometheus: out of order, too old).
            refusal = answer.text[:500]
            raise ValidationFailed(
                [{"field": "samples", "msg": f"the metrics engine refused them: {refusal}"}]
            )
        _check(answer)
        return sum(len(samples) for samples in per_series.values())

    async def read_range(
        self,
        session: AsyncSession,
        series_ids: Sequence[int],
        start_ms: int,
        end_ms: int,
        *,
        step_ms: int | None,
        agg: Aggregation,
        limit: int,
    ) -> dict[int, list[tuple[int, float]]]:
        """Points of each series in [start, end), as `store.samples.read_range` gives them."""
        result: dict[int, list[tuple[int, float]]] = {i: [] for i in series_ids}
        if not series_ids or end_ms <= start_ms:
            return result
        if self.read_only:
            return await self._read_source(
                session, series_ids, start_ms, end_ms, step_ms=step_ms, agg=agg, limit=limit
            )
        # Whole buckets that ended a while ago are aggregated by VictoriaMetrics; the rest (the
        # last, partial bucket, and the recent past) come raw and are bucketed here.
        split = start_ms
        if step_ms is not None and self.engine.kind == "victoriametrics":
            settled = min(end_ms, self.clock() - SETTLED_MS)
            buckets = max(0, (settled - start_ms) // step_ms)
            if buckets <= MAX_ENGINE_POINTS:
                split = start_ms + buckets * step_ms
        by_org: dict[int, list[int]] = defaultdict(list)
        for series_id, entry in (await self._labels(session, series_ids)).items():
            by_org[entry.org_id].append(series_id)
        for org_id, ids in sorted(by_org.items()):
            ordered = sorted(ids)
            for first in range(0, len(ordered), READ_CHUNK):
                chunk = ordered[first : first + READ_CHUNK]
                selector = _selector(org_id, chunk)
                if split > start_ms and step_ms is not None:
                    head = await self._over_time(selector, agg.value, start_ms, split, step_ms)
                else:
                    head = {}
                tail = await self._raw(selector, split, end_ms) if split < end_ms else {}
                for series_id in chunk:
                    points = tail.get(series_id, [])
                    if step_ms is not None:
                        points = bucket(points, start_ms, step_ms, agg.value)
                    result[series_id] = head.get(series_id, []) + points
        remaining = limit
        for series_id in sorted(result):
            result[series_id] = result[series_id][: max(remaining, 0)]
            remaining -= len(result[series_id])
        return result

    async def _read_source(
        self,
        session: AsyncSession,
        series_ids: Sequence[int],
        start_ms: int,
        end_ms: int,
        *,
        step_ms: int | None,
        agg: Aggregation,
        limit: int,
    ) -> dict[int, list[tuple[int, float]]]:
        """`read_range` with a read-only source: its series from it, the rest embedded."""
        from failcast.store import samples as embedded_store

        known = await self._labels(session, series_ids)
        external = {i: known[i].labels for i in series_ids if i in known and known[i].external}
        internal = [i for i in series_ids if i not in external]
        with _embedded(session):
            found = await embedded_store.read_range(
                session, internal, start_ms, end_ms, step_ms=step_ms, agg=agg, limit=limit
            )
        result = {i: [(p.ts, p.value) for p in found.get(i, [])] for i in series_ids}
        by_labels = {frozenset(labels): i for i, labels in external.items()}
        for first in range(0, len(by_labels), READ_CHUNK):
            chunk = list(by_labels.items())[first : first + READ_CHUNK]
            raw = await self._raw_labelled([dict(labels) for labels, _ in chunk], start_ms, end_ms)
            for labels, points in raw.items():
                if (series_id := by_labels.get(labels)) is not None:
                    if step_ms is not None:
                        points = bucket(points, start_ms, step_ms, agg.value)
                    result[series_id] = points
        remaining = limit
        for series_id in sorted(result):
            result[series_id] = result[series_id][: max(remaining, 0)]
            remaining -= len(result[series_id])
        return result

    async def _raw_labelled(
        self, label_sets: list[dict[str, str]], start_ms: int, end_ms: int
    ) -> dict[LabelSet, list[tuple[int, float]]]:
        """Raw samples of the series with exactly these label sets (`__name__` included)."""
        selectors = [_exact_selector(labels) for labels in label_sets]
        found: dict[LabelSet, list[tuple[int, float]]] = defaultdict(list)
        if self.engine.kind == "victoriametrics":
            form = {"match[]": selectors, "start": _seconds(start_ms), "end": _seconds(end_ms - 1)}
            answer = await self._call(
                lambda: self.client.post(f"{self.engine.read_base}/api/v1/export", data=form)
            )
            _check(answer)
            for line in answer.text.splitlines():
                if line.strip():
                    item = json.loads(line)
                    found[frozenset(item["metric"].items())].extend(
                        (int(ts), float(value))
                        for ts, value in zip(item["timestamps"], item["values"], strict=True)
                    )
        else:
            for selector in selectors:
                query = {
                    "query": f"{selector}[{end_ms - start_ms}ms]",
                    "time": _seconds(end_ms - 1),
                }
                answer = await self._call(
                    lambda query=query: self.client.post(  # type: ignore[misc]
                        f"{self.engine.read_base}/api/v1/query", data=query
                    )
                )
                _check(answer)
                for item in answer.json()["data"]["result"]:
                    found[frozenset(item["metric"].items())].extend(
                        (round(float(t) * 1000), float(v)) for t, v in item.get("values", [])
                    )
        return {labels: _in_range(points, start_ms, end_ms) for labels, points in found.items()}

    async def series(
        self, selectors: Sequence[str], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        """The label sets of the series matching any of `selectors` in [start, end]."""
        form = {"match[]": list(selectors), "start": _seconds(start_ms), "end": _seconds(end_ms)}
        answer = await self._call(
            lambda: self.client.post(f"{self.engine.read_base}/api/v1/series", data=form)
        )
        _check(answer)
        found: list[dict[str, str]] = answer.json()["data"]
        return found

    async def _over_time(
        self, selector: str, agg: str, start_ms: int, end_ms: int, step_ms: int
    ) -> dict[int, list[tuple[int, float]]]:
        """One aggregated point per whole bucket of [start, end), from `query_range`.

        `<agg>_over_time(m[step])` at t covers (t - step, t]: evaluated at each bucket's last
        millisecond it covers exactly [bucket start, bucket end), and its point is then
        stamped with the bucket's start, as the embedded store stamps it.
        """
        form = {
            "query": f"{agg}_over_time({selector}[{step_ms}ms])",
            "start": _seconds(start_ms + step_ms - 1),
            "end": _seconds(end_ms - 1),
            "step": f"{step_ms}ms",
            # Exact windows, not ones aligned for the cache, and the latest samples too.
            "nocache": "1",
        }
        answer = await self._call(
            lambda: self.client.post(f"{self.engine.read_base}/api/v1/query_range", data=form)
        )
        _check(answer)
        out: dict[int, list[tuple[int, float]]] = {}
        for item in answer.json()["data"]["result"]:
            out[int(item["metric"][SERIES_LABEL])] = [
                (round(float(t) * 1000) - step_ms + 1, float(v)) for t, v in item["values"]
            ]
        return out

    async def _raw(
        self, selector: str, start_ms: int, end_ms: int
    ) -> dict[int, list[tuple[int, float]]]:
        if self.engine.kind == "victoriametrics":
            # The export API streams raw samples, one JSON line per series; its range is
            # closed, [start, end].
            form = {"match[]": selector, "start": _seconds(start_ms), "end": _seconds(end_ms - 1)}
            answer = await self._call(
                lambda: self.client.post(f"{self.engine.read_base}/api/v1/export", data=form)
            )
            _check(answer)
            return _parse_export(answer.text.splitlines(), start_ms, end_ms)
        answer = await self._range_selector(selector, start_ms, end_ms)
        out: dict[int, list[tuple[int, float]]] = {}
        for item in answer.json()["data"]["result"]:
            points = [(round(float(t) * 1000), float(v)) for t, v in item.get("values", [])]
            out[int(item["metric"][SERIES_LABEL])] = _in_range(points, start_ms, end_ms)
        return out

    async def _range_selector(self, selector: str, start_ms: int, end_ms: int) -> httpx.Response:
        # A range selector evaluated at `end - 1 ms` returns the raw samples of
        # (end - 1 - range, end - 1], which for whole milliseconds is [start, end).
        form = {"query": f"{selector}[{end_ms - start_ms}ms]", "time": _seconds(end_ms - 1)}
        answer = await self._call(
            lambda: self.client.post(f"{self.engine.read_base}/api/v1/query", data=form)
        )
        _check(answer)
        return answer

    async def summary(
        self, org_id: int, series_ids: Sequence[int] | None, at_ms: int
    ) -> SampleSummary:
        """The samples of an org (or of some of its series) up to `at_ms`. Prometheus has no
        function for a sample's own time, so there only the count is known."""
        if series_ids is None:
            selector = f'{{{ORG_LABEL}="{org_id}"}}[{SUMMARY_WINDOW}]'
        elif not series_ids:
            return SampleSummary(0, None, None)
        else:
            selector = f"{_selector(org_id, sorted(series_ids))}[{SUMMARY_WINDOW}]"
        count = await self._scalar(f"sum(count_over_time({selector}))", at_ms)
        if self.engine.kind != "victoriametrics" or not count:
            return SampleSummary(int(count or 0), None, None)
        oldest = await self._scalar(f"min(tfirst_over_time({selector}))", at_ms)
        newest = await self._scalar(f"max(tlast_over_time({selector}))", at_ms)
        return SampleSummary(int(count), _ms(oldest), _ms(newest))

    async def per_service(self, org_id: int, at_ms: int) -> dict[str, tuple[int, int | None]]:
        """{service: (samples, time of the newest or None)} of an org's samples up to `at_ms`;
        the time is known on VictoriaMetrics only."""
        selector = f'{{{ORG_LABEL}="{org_id}"}}[{SUMMARY_WINDOW}]'
        counts = _by_service(
            await self._vector(f"sum by (service) (count_over_time({selector}))", at_ms)
        )
        newest: dict[str, float] = {}
        if self.engine.kind == "victoriametrics" and counts:
            newest = _by_service(
                await self._vector(f"max by (service) (tlast_over_time({selector}))", at_ms)
            )
        return {name: (int(count), _ms(newest.get(name))) for name, count in counts.items()}

    async def latest(
        self, session: AsyncSession, series_ids: Sequence[int], at_ms: int
    ) -> dict[int, tuple[int, float]]:
        """{series: (time, value)} of each series' newest sample in the day up to `at_ms`. On
        engines other than VictoriaMetrics the time is `at_ms`."""
        out: dict[int, tuple[int, float]] = {}
        by_org: dict[int, list[int]] = defaultdict(list)
        for series_id, entry in (await self._labels(session, series_ids)).items():
            by_org[entry.org_id].append(series_id)
        for org_id, ids in sorted(by_org.items()):
            ordered = sorted(ids)
            for first in range(0, len(ordered), READ_CHUNK):
                chunk = ordered[first : first + READ_CHUNK]
                selector = f"{_selector(org_id, chunk)}[{LATEST_WINDOW}]"
                values = await self._vector(f"last_over_time({selector})", at_ms)
                times: dict[LabelSet, float] = {}
                if self.engine.kind == "victoriametrics":
                    times = await self._vector(f"tlast_over_time({selector})", at_ms)
                for labels, value in values.items():
                    series_id = int(dict(labels)[SERIES_LABEL])
                    at = _ms(times.get(labels))
                    out[series_id] = (at_ms if at is None else at, value)
        return out

    async def _vector(self, query: str, at_ms: int) -> dict[LabelSet, float]:
        """An instant query's answer, {frozenset of labels (no `__name__`): value}."""
        answer = await self._instant(query, at_ms)
        return {
            frozenset((k, v) for k, v in item["metric"].items() if k != "__name__"): float(
                item["value"][1]
            )
            for item in answer.json()["data"]["result"]
        }

    async def _instant(self, query: str, at_ms: int) -> httpx.Response:
        form = {"query": query, "time": _seconds(at_ms)}
        if self.engine.kind == "victoriametrics":
            # Without it VictoriaMetrics leaves out samples newer than -search.latencyOffset
            # (30 s), and may answer from its cache of earlier results.
            form["nocache"] = "1"
        answer = await self._call(
            lambda: self.client.post(f"{self.engine.read_base}/api/v1/query", data=form)
        )
        _check(answer)
        return answer

    async def _scalar(self, query: str, at_ms: int) -> float | None:
        answer = await self._instant(query, at_ms)
        result = answer.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    async def _call(self, send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        try:
            return await send()
        except httpx.HTTPError as exc:
            log.warning("metrics engine unreachable: %r", exc)
            raise Unavailable(
                f"the metrics engine cannot be reached: {type(exc).__name__}",
                ENGINE_RETRY_AFTER,
            ) from exc


def _by_service(vector: dict[LabelSet, float]) -> dict[str, float]:
    return {dict(labels)["service"]: value for labels, value in vector.items() if labels}


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _selector(org_id: int, ids: Sequence[int]) -> str:
    return f'{{{ORG_LABEL}="{org_id}",{SERIES_LABEL}=~"{"|".join(str(i) for i in ids)}"}}'


def _seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _check(answer: httpx.Response) -> None:
    if answer.is_success:
        return
    log.warning(
        "metrics engine answered %s to %s: %s",
        answer.status_code,
        answer.request.url.path,
        answer.text[:200],
    )
    raise Unavailable(
        f"the metrics engine answered {answer.status_code}: {answer.text[:200]}",
        ENGINE_RETRY_AFTER,
    )


def _in_range(
    points: list[tuple[int, float]], start_ms: int, end_ms: int
) -> list[tuple[int, float]]:
    # Sorted by time, one value per timestamp (the last one sent), within [start, end).
    latest: dict[int, float] = {}
    for ts, value in points:
        if start_ms <= ts < end_ms:
            latest[ts] = value
    return sorted(latest.items())


def _parse_export(
    lines: Iterable[str], start_ms: int, end_ms: int
) -> dict[int, list[tuple[int, float]]]:
    found: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        # One series may come in several lines (one per stored block).
        found[int(item["metric"][SERIES_LABEL])].extend(
            (int(ts), float(value))
            for ts, value in zip(item["timestamps"], item["values"], strict=True)
        )
    return {series_id: _in_range(points, start_ms, end_ms) for series_id, points in found.items()}


def _exact_selector(labels: dict[str, str]) -> str:
    def quoted(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{quoted(v)}"' for k, v in sorted(labels.items())) + "}"


@contextmanager
def _embedded(session: AsyncSession) -> Iterator[None]:
    session.info[_EMBEDDED_KEY] = True
    try:
        yield
    finally:
        session.info.pop(_EMBEDDED_KEY, None)


def open_database(settings: Settings) -> Database:
    """The database, with the metrics engine the settings name (a write engine, or a
    read-only source) when they name one."""
    metrics, source = settings.metrics_engine, settings.metrics_source_engine
    if metrics is not None:
        return Database(settings, RemoteSamples(metrics))
    if source is not None:
        return Database(settings, RemoteSamples(source, read_only=True))
    return Database(settings)


def remote_backend(session: AsyncSession) -> RemoteSamples | None:
    """The engine this session's samples are read from and written to, or None for the
    embedded store."""
    if session.info.get(_EMBEDDED_KEY):
        return None
    backend = session.info.get(METRICS_INFO_KEY)
    return backend if isinstance(backend, RemoteSamples) else None


def samples_engine(session: AsyncSession) -> RemoteSamples | None:
    """The engine holding every sample Failcast stores, or None when they are in the embedded
    store (also beside a read-only source)."""
    backend = remote_backend(session)
    return None if backend is None or backend.read_only else backend
