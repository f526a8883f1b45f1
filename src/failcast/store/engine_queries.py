"""Asking a Prometheus-compatible engine: instant queries over its HTTP API, answers checked
(an engine that cannot be reached, or answers an error, is `Unavailable`: 503 with
Retry-After), and what the store asks of it beyond samples: how many samples an org has,
and since and until when."""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import NamedTuple

import httpx

from failcast.config import MetricsEngine
from failcast.errors import Unavailable

log = logging.getLogger("failcast.store.remote")

ORG_LABEL = "failcast_org"
SERIES_LABEL = "failcast_series"
# How long a client is asked to wait when the engine is down, in seconds.
ENGINE_RETRY_AFTER = 5
# How far back summaries look: further than any retention an engine is likely to keep.
SUMMARY_WINDOW = "3650d"

LabelSet = frozenset[tuple[str, str]]


class SampleSummary(NamedTuple):
    """How many samples a set of series holds, and the times of the first and the last."""

    samples: int
    oldest_ms: int | None
    newest_ms: int | None


class EngineQueries:
    """Instant queries to one engine over a shared HTTP client."""

    def __init__(self, engine: MetricsEngine, client: httpx.AsyncClient) -> None:
        self.engine = engine
        self.client = client

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
            selector = f"{series_selector(org_id, sorted(series_ids))}[{SUMMARY_WINDOW}]"
        count = await self.scalar(f"sum(count_over_time({selector}))", at_ms)
        if self.engine.kind != "victoriametrics" or not count:
            return SampleSummary(int(count or 0), None, None)
        oldest = await self.scalar(f"min(tfirst_over_time({selector}))", at_ms)
        newest = await self.scalar(f"max(tlast_over_time({selector}))", at_ms)
        return SampleSummary(int(count), ms_of(oldest), ms_of(newest))

    async def per_service(self, org_id: int, at_ms: int) -> dict[str, tuple[int, int | None]]:
        """{service: (samples, time of the newest or None)} of an org's samples up to `at_ms`;
        the time is known on VictoriaMetrics only."""
        selector = f'{{{ORG_LABEL}="{org_id}"}}[{SUMMARY_WINDOW}]'
        counts = by_service(
            await self.vector(f"sum by (service) (count_over_time({selector}))", at_ms)
        )
        newest: dict[str, float] = {}
        if self.engine.kind == "victoriametrics" and counts:
            newest = by_service(
                await self.vector(f"max by (service) (tlast_over_time({selector}))", at_ms)
            )
        return {name: (int(count), ms_of(newest.get(name))) for name, count in counts.items()}

    async def vector(self, query: str, at_ms: int) -> dict[LabelSet, float]:
        """An instant query's answer, {frozenset of labels (no `__name__`): value}."""
        answer = await self.instant(query, at_ms)
        return {
            frozenset((k, v) for k, v in item["metric"].items() if k != "__name__"): float(
                item["value"][1]
            )
            for item in answer.json()["data"]["result"]
        }

    async def instant(self, query: str, at_ms: int) -> httpx.Response:
        form = {"query": query, "time": seconds_text(at_ms)}
        if self.engine.kind == "victoriametrics":
            # Without it VictoriaMetrics leaves out samples newer than -search.latencyOffset
            # (30 s), and may answer from its cache of earlier results.
            form["nocache"] = "1"
        answer = await self.call(
            lambda: self.client.post(f"{self.engine.read_base}/api/v1/query", data=form)
        )
        check(answer)
        return answer

    async def scalar(self, query: str, at_ms: int) -> float | None:
        answer = await self.instant(query, at_ms)
        result = answer.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    async def call(self, send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        try:
            return await send()
        except httpx.HTTPError as exc:
            log.warning("metrics engine unreachable: %r", exc)
            raise Unavailable(
                f"the metrics engine cannot be reached: {type(exc).__name__}",
                ENGINE_RETRY_AFTER,
            ) from exc

    async def over_time(
        self, selector: str, agg: str, start_ms: int, end_ms: int, step_ms: int
    ) -> dict[int, list[tuple[int, float]]]:
        """One aggregated point per whole bucket of [start, end), from `query_range`.

        `<agg>_over_time(m[step])` at t covers (t - step, t]: evaluated at each bucket's last
        millisecond it covers exactly [bucket start, bucket end), and its point is then
        stamped with the bucket's start, as the embedded store stamps it.
        """
        form = {
            "query": f"{agg}_over_time({selector}[{step_ms}ms])",
            "start": seconds_text(start_ms + step_ms - 1),
            "end": seconds_text(end_ms - 1),
            "step": f"{step_ms}ms",
            # Exact windows, not ones aligned for the cache, and the latest samples too.
            "nocache": "1",
        }
        answer = await self.call(
            lambda: self.client.post(f"{self.engine.read_base}/api/v1/query_range", data=form)
        )
        check(answer)
        out: dict[int, list[tuple[int, float]]] = {}
        for item in answer.json()["data"]["result"]:
            out[int(item["metric"][SERIES_LABEL])] = [
                (round(float(t) * 1000) - step_ms + 1, float(v)) for t, v in item["values"]
            ]
        return out

    async def raw(
        self, selector: str, start_ms: int, end_ms: int
    ) -> dict[int, list[tuple[int, float]]]:
        if self.engine.kind == "victoriametrics":
            # The export API streams raw samples, one JSON line per series; its range is
            # closed, [start, end].
            form = {
                "match[]": selector,
                "start": seconds_text(start_ms),
                "end": seconds_text(end_ms - 1),
            }
            answer = await self.call(
                lambda: self.client.post(f"{self.engine.read_base}/api/v1/export", data=form)
            )
            check(answer)
            return parse_export(answer.text.splitlines(), start_ms, end_ms)
        answer = await self.range_selector(selector, start_ms, end_ms)
        out: dict[int, list[tuple[int, float]]] = {}
        for item in answer.json()["data"]["result"]:
            points = [(round(float(t) * 1000), float(v)) for t, v in item.get("values", [])]
            out[int(item["metric"][SERIES_LABEL])] = in_range(points, start_ms, end_ms)
        return out

    async def range_selector(self, selector: str, start_ms: int, end_ms: int) -> httpx.Response:
        # A range selector evaluated at `end - 1 ms` returns the raw samples of
        # (end - 1 - range, end - 1], which for whole milliseconds is [start, end).
        form = {"query": f"{selector}[{end_ms - start_ms}ms]", "time": seconds_text(end_ms - 1)}
        answer = await self.call(
            lambda: self.client.post(f"{self.engine.read_base}/api/v1/query", data=form)
        )
        check(answer)
        return answer

    async def series(
        self, selectors: Sequence[str], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        """The label sets of the series matching any of `selectors` in [start, end]."""
        form = {
            "match[]": list(selectors),
            "start": seconds_text(start_ms),
            "end": seconds_text(end_ms),
        }
        answer = await self.call(
            lambda: self.client.post(f"{self.engine.read_base}/api/v1/series", data=form)
        )
        check(answer)
        found: list[dict[str, str]] = answer.json()["data"]
        return found


def by_service(vector: dict[LabelSet, float]) -> dict[str, float]:
    return {dict(labels)["service"]: value for labels, value in vector.items() if labels}


def ms_of(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def series_selector(org_id: int, ids: Sequence[int]) -> str:
    return f'{{{ORG_LABEL}="{org_id}",{SERIES_LABEL}=~"{"|".join(str(i) for i in ids)}"}}'


def seconds_text(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def check(answer: httpx.Response) -> None:
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


def in_range(
    points: list[tuple[int, float]], start_ms: int, end_ms: int
) -> list[tuple[int, float]]:
    # Sorted by time, one value per timestamp (the last one sent), within [start, end).
    latest: dict[int, float] = {}
    for ts, value in points:
        if start_ms <= ts < end_ms:
            latest[ts] = value
    return sorted(latest.items())


def parse_export(
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
    return {series_id: in_range(points, start_ms, end_ms) for series_id, points in found.items()}


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
