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
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import cramjam
import httpx
import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.config import MetricsEngine, Settings
from failcast.db.engine import METRICS_INFO_KEY, Database
from failcast.errors import ValidationFailed
from failcast.models import Series, Service
from failcast.proto import remote_pb2
from failcast.store.engine_queries import (
    ORG_LABEL,
    SERIES_LABEL,
    EngineQueries,
    LabelSet,
    bucket,
    check,
    in_range,
    ms_of,
    seconds_text,
    series_selector,
)
from failcast.store.ranges import Pairs, RangeRead
from failcast.timeutil import now_ms

log = logging.getLogger("failcast.store.remote")

# Series ids per read request: the matcher travels in a form body, but stays readable.
READ_CHUNK = 500
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


class SeriesLabels(NamedTuple):
    org_id: int
    labels: tuple[tuple[str, str], ...]  # sorted by name, as remote_write asks
    # Discovered in a read-only source: `labels` are the source's own.
    external: bool = False
    # The labels as field 1 of a serialised remote_write TimeSeries.
    wire: bytes = b""


def wire_labels(labels: tuple[tuple[str, str], ...]) -> bytes:
    series = remote_pb2.TimeSeries(labels=[remote_pb2.Label(name=k, value=v) for k, v in labels])
    return series.SerializeToString()


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
        self.queries = EngineQueries(engine, self.client)
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
                labels = engine_labels(row.org_id, row.id, row.name, row.metric, dict(row.labels))
                self._series[row.id] = SeriesLabels(row.org_id, labels, wire=wire_labels(labels))
        return {i: self._series[i] for i in wanted if i in self._series}

    async def write_sample_columns(
        self,
        session: AsyncSession,
        series_ids: list[int] | npt.NDArray[np.int64],
        ts: list[int] | npt.NDArray[np.int64],
        values: list[float] | npt.NDArray[np.float64],
    ) -> int:
        """Send the samples in one remote_write request; return when the engine has them."""
        if self.read_only:
            from failcast.store import samples as embedded_store

            with _embedded(session):
                return await embedded_store.write_sample_columns(session, series_ids, ts, values)
        if len(series_ids) == 0:
            return 0
        ids, at, points = _grouped(
            np.asarray(series_ids, np.int64),
            np.asarray(ts, np.int64),
            np.asarray(values, np.float64),
        )
        # Imported here: numba (and the scipy it loads) would add a third of a second to
        # every command-line start, and only a write to an engine needs it.
        from failcast.store.remote_wire import write_request

        bounds = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True]).tolist()
        runs = ids[bounds[:-1]].tolist()
        known = await self._labels(session, runs)
        unknown = set(runs) - known.keys()
        if unknown:
            raise ValueError(f"series {min(unknown)} is not in the catalogue")
        labels = [known[series_id].wire for series_id in runs]
        body = bytes(cramjam.snappy.compress_raw(write_request(labels, bounds, at, points)))
        headers = {
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
        }
        answer = await self.queries.call(
            lambda: self.client.post(self.engine.write_url, content=body, headers=headers)
        )
        if 400 <= answer.status_code < 500 and answer.status_code != 429:
            # The engine refused these samples for good (Prometheus: out of order, too old).
            refusal = answer.text[:500]
            raise ValidationFailed(
                [{"field": "samples", "msg": f"the metrics engine refused them: {refusal}"}]
            )
        check(answer)
        return len(ids)

    async def read_range(self, session: AsyncSession, read: RangeRead) -> dict[int, Pairs]:
        """Points of each series, as `store.samples.read_pairs` gives them."""
        result: dict[int, Pairs] = {i: [] for i in read.series_ids}
        start_ms, end_ms, step_ms, agg = read.start_ms, read.end_ms, read.step_ms, read.agg
        if not read.series_ids or end_ms <= start_ms:
            return result
        if self.read_only:
            return read.cut(await self._read_source(session, read))
        # Whole buckets that ended a while ago are aggregated by VictoriaMetrics; the rest (the
        # last, partial bucket, and the recent past) come raw and are bucketed here.
        split = start_ms
        if step_ms is not None and self.engine.kind == "victoriametrics":
            settled = min(end_ms, self.clock() - SETTLED_MS)
            buckets = max(0, (settled - start_ms) // step_ms)
            if buckets <= MAX_ENGINE_POINTS:
                split = start_ms + buckets * step_ms
        by_org: dict[int, list[int]] = defaultdict(list)
        for series_id, entry in (await self._labels(session, read.series_ids)).items():
            by_org[entry.org_id].append(series_id)
        for org_id, ids in sorted(by_org.items()):
            ordered = sorted(ids)
            for first in range(0, len(ordered), READ_CHUNK):
                chunk = ordered[first : first + READ_CHUNK]
                selector = series_selector(org_id, chunk)
                if split > start_ms and step_ms is not None:
                    head = await self.queries.over_time(
                        selector, agg.value, start_ms, split, step_ms
                    )
                else:
                    head = {}
                tail = await self.queries.raw(selector, split, end_ms) if split < end_ms else {}
                for series_id in chunk:
                    points = tail.get(series_id, [])
                    if step_ms is not None:
                        points = bucket(points, start_ms, step_ms, agg.value)
                    result[series_id] = head.get(series_id, []) + points
        return read.cut(result)

    async def _read_source(self, session: AsyncSession, read: RangeRead) -> dict[int, Pairs]:
        """`read_range` with a read-only source: its series from it, the rest embedded."""
        from failcast.store import samples as embedded_store

        known = await self._labels(session, read.series_ids)
        external = {i: known[i].labels for i in read.series_ids if i in known and known[i].external}
        internal = [i for i in read.series_ids if i not in external]
        with _embedded(session):
            found = await embedded_store.read_pairs(session, read.of(internal))
        result = {i: found.get(i, []) for i in read.series_ids}
        by_labels = {frozenset(labels): i for i, labels in external.items()}
        for first in range(0, len(by_labels), READ_CHUNK):
            chunk = list(by_labels.items())[first : first + READ_CHUNK]
            raw = await self._raw_labelled(
                [dict(labels) for labels, _ in chunk], read.start_ms, read.end_ms
            )
            for labels, points in raw.items():
                if (series_id := by_labels.get(labels)) is not None:
                    if read.step_ms is not None:
                        points = bucket(points, read.start_ms, read.step_ms, read.agg.value)
                    result[series_id] = points
        return result

    async def _raw_labelled(
        self, label_sets: list[dict[str, str]], start_ms: int, end_ms: int
    ) -> dict[LabelSet, Pairs]:
        """Raw samples of the series with exactly these label sets (`__name__` included)."""
        selectors = [_exact_selector(labels) for labels in label_sets]
        found: dict[LabelSet, Pairs] = defaultdict(list)
        if self.engine.kind == "victoriametrics":
            form = {
                "match[]": selectors,
                "start": seconds_text(start_ms),
                "end": seconds_text(end_ms - 1),
            }
            answer = await self.queries.call(
                lambda: self.client.post(f"{self.engine.read_base}/api/v1/export", data=form)
            )
            check(answer)
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
                    "time": seconds_text(end_ms - 1),
                }
                answer = await self.queries.call(
                    lambda query=query: self.client.post(  # type: ignore[misc]
                        f"{self.engine.read_base}/api/v1/query", data=query
                    )
                )
                check(answer)
                for item in answer.json()["data"]["result"]:
                    found[frozenset(item["metric"].items())].extend(
                        (round(float(t) * 1000), float(v)) for t, v in item.get("values", [])
                    )
        return {labels: in_range(points, start_ms, end_ms) for labels, points in found.items()}

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
                selector = f"{series_selector(org_id, chunk)}[{LATEST_WINDOW}]"
                values = await self.queries.vector(f"last_over_time({selector})", at_ms)
                times: dict[LabelSet, float] = {}
                if self.engine.kind == "victoriametrics":
                    times = await self.queries.vector(f"tlast_over_time({selector})", at_ms)
                for labels, value in values.items():
                    series_id = int(dict(labels)[SERIES_LABEL])
                    at = ms_of(times.get(labels))
                    out[series_id] = (at_ms if at is None else at, value)
        return out


def _exact_selector(labels: dict[str, str]) -> str:
    def quoted(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{quoted(v)}"' for k, v in sorted(labels.items())) + "}"


def _grouped(
    ids: npt.NDArray[np.int64], at: npt.NDArray[np.int64], points: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The samples with each series' points together, oldest first, and of a repeated
    (series, ts) only the last one given. A remote write usually arrives so already (every
    series in one run, its times rising); then it is kept as it is, without a sort.

    >>> ids, at, points = _grouped(np.array([7, 7, 3]), np.array([2, 1, 5]), np.array([1.0, 2, 3]))
    >>> ids.tolist(), at.tolist(), points.tolist()
    ([3, 7, 7], [5, 1, 2], [3.0, 2.0, 1.0])
    """
    same = ids[1:] == ids[:-1]
    if not (at[1:][same] <= at[:-1][same]).any():
        firsts = ids[np.r_[True, ~same]] if len(ids) else ids
        if len(np.unique(firsts)) == len(firsts):
            return ids, at, points
    # By series, then time; of a repeated (series, ts) the last one given wins.
    order = np.lexsort((np.arange(len(ids)), at, ids))
    ids, at, points = ids[order], at[order], points[order]
    last = np.ones(len(ids), bool)
    last[:-1] = (ids[1:] != ids[:-1]) | (at[1:] != at[:-1])
    return ids[last], at[last], points[last]


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
