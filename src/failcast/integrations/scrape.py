"""Pulling Prometheus text exposition from scrape targets, on a timer, and recording each
target's health (up, duration, error) the way Prometheus does.

Every scrape also stores `up`, `scrape_duration_seconds` and `scrape_samples_scraped` for the
target's service, so an exporter that stops answering shows up in the data, not only in the
target list.

Targets are pulled through `failcast.egress`: a target that resolves to a private, loopback
or link-local address (unless the operator allows its network) is never connected to, so a
user cannot read an internal endpoint back as metrics. A failed connection is reported as
such, without the system's reason, so the target list is no port scanner.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.config import Settings
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.egress import EgressPolicy, OutboundClient, is_refusal
from failcast.ingest.schemas import IngestLimits
from failcast.ingest.service import Ingestor
from failcast.integrations.mapping import SampleSink, label_name, metric_name
from failcast.models import ScrapeTarget

ACCEPT = "text/plain;version=0.0.4;q=1.0, */*;q=0.1"
NOT_ALLOWED = "the target's address may not be reached (see outbound_allowed_networks)"
# Targets pulled per run of the periodic job; the rest wait for the next tick.
MAX_TARGETS_PER_RUN = 200
MAX_PARALLEL_SCRAPES = 8


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """What a scrape needs to know about a target, detached from the session."""

    id: int
    org_id: int
    service: str
    url: str
    timeout_seconds: float
    labels: dict[str, str]


@dataclass(frozen=True, slots=True)
class ScrapeResult:
    target: TargetSpec
    started: datetime
    duration_seconds: float
    sink: SampleSink
    error: str | None

    @property
    def up(self) -> bool:
        return self.error is None


def instance_of(url: str) -> str:
    """`host:port` of a target URL, as Prometheus labels it."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def exposition_samples(
    text: str, target: TargetSpec, scrape_ms: int, limits: IngestLimits
) -> SampleSink:
    """Samples of a text exposition page; the target's labels and `instance` win over the
    page's own. Raises ValueError when the page does not parse."""
    families = list(text_string_to_metric_families(text))
    names = {sample.name for family in families for sample in family.samples}
    overrides = target.labels | {"instance": instance_of(target.url)}
    grouped: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]] = {}
    for family in families:
        for sample in family.samples:
            base = sample.name.removesuffix("_created")
            if base != sample.name and (f"{base}_total" in names or f"{base}_count" in names):
                # Creation times of counters and histograms are metadata, not measurements.
                continue
            labels = {
                name: value
                for key, value in sample.labels.items()
                if (name := label_name(key)) is not None
            } | overrides
            stamp = sample.timestamp
            ts = round(float(stamp) * 1000) if stamp is not None else scrape_ms
            key = (sample.name, tuple(sorted(labels.items())))
            grouped.setdefault(key, []).append((ts, float(sample.value)))
    sink = SampleSink(limits)
    for (name, pairs), points in grouped.items():
        sink.add_series(target.service, metric_name(name), dict(pairs), points)
    return sink


async def scrape(
    http: httpx.AsyncClient, target: TargetSpec, limits: IngestLimits, max_bytes: int
) -> ScrapeResult:
    """Pull one target within its timeout; failures become the result's error."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    scrape_ms = int(started.timestamp() * 1000)
    error: str | None = None
    sink = SampleSink(limits)
    try:
        async with asyncio.timeout(target.timeout_seconds):
            response = await http.get(
                target.url, headers={"Accept": ACCEPT}, timeout=target.timeout_seconds
            )
        if response.status_code != 200:
            error = f"server returned HTTP status {response.status_code}"
        elif len(response.content) > max_bytes:
            error = f"response is larger than {max_bytes} bytes"
        else:
            sink = await asyncio.to_thread(
                exposition_samples, response.text, target, scrape_ms, limits
            )
    except (TimeoutError, httpx.TimeoutException):
        error = f"timed out after {target.timeout_seconds:g} s"
    except httpx.HTTPError as exc:
        error = NOT_ALLOWED if is_refusal(exc) else "connection failed"
    except ValueError as exc:
        error = f"not Prometheus text format: {exc}"
    duration = time.perf_counter() - clock
    return ScrapeResult(target, started, duration, sink, error)


def health_samples(result: ScrapeResult, limits: IngestLimits) -> SampleSink:
    """`up`, `scrape_duration_seconds` and `scrape_samples_scraped` for the result's target."""
    sink = SampleSink(limits)
    target = result.target
    labels = target.labels | {"instance": instance_of(target.url)}
    ts = int(result.started.timestamp() * 1000)
    for name, value in (
        ("up", 1.0 if result.up else 0.0),
        ("scrape_duration_seconds", result.duration_seconds),
        ("scrape_samples_scraped", float(len(result.sink))),
    ):
        sink.add_series(target.service, name, labels, [(ts, value)])
    return sink


async def claim_due_targets(session: AsyncSession, now: datetime) -> list[TargetSpec]:
    """Due targets, each moved to its next slot so that the next tick does not pull it again."""
    targets = list(
        await session.scalars(
            select(ScrapeTarget)
            .where(ScrapeTarget.enabled.is_(True), ScrapeTarget.next_scrape_at <= now)
            .order_by(ScrapeTarget.next_scrape_at)
            .limit(MAX_TARGETS_PER_RUN)
        )
    )
    specs = []
    for target in targets:
        target.next_scrape_at = now + timedelta(seconds=target.interval_seconds)
        specs.append(
            TargetSpec(
                id=target.id,
                org_id=target.org_id,
                service=target.service,
                url=target.url,
                timeout_seconds=target.timeout_seconds,
                labels=dict(target.labels),
            )
        )
    await session.flush()
    return specs


async def record_result(session: AsyncSession, ingestor: Ingestor, result: ScrapeResult) -> None:
    """Store the target's last outcome, the scraped samples and the health series, in one
    transaction (the ingestor commits)."""
    await session.execute(
        update(ScrapeTarget)
        .where(ScrapeTarget.id == result.target.id)
        .values(
            last_scrape_at=result.started,
            last_duration_seconds=result.duration_seconds,
            last_samples=len(result.sink),
            last_error=result.error,
            up=result.up,
        )
    )
    samples = result.sink.samples + health_samples(result, result.sink.limits).samples
    # New series beyond the org's limits are left out, as for remote write.
    await ingestor.ingest_samples(session, result.target.org_id, samples, partial=True)


async def scrape_due_targets(
    db: Database,
    ingestor: Ingestor,
    settings: Settings,
    now: datetime | None = None,
    egress: EgressPolicy | None = None,
) -> list[ScrapeResult]:
    """Pull every due target in parallel and record what came back."""
    now = now or datetime.now(UTC)
    egress = egress or EgressPolicy.from_settings(settings)
    async with session_scope(db) as session:
        targets = await claim_due_targets(session, now)
    if not targets:
        return []
    limits = IngestLimits.from_settings(settings)
    slots = asyncio.Semaphore(MAX_PARALLEL_SCRAPES)

    async def pull(http: OutboundClient, target: TargetSpec) -> ScrapeResult:
        async with slots:
            return await scrape(http, target, limits, settings.max_body_bytes)

    # Redirects are followed: each hop's connection goes through the same check.
    async with OutboundClient(egress, follow_redirects=True) as http:
        results = await asyncio.gather(*(pull(http, target) for target in targets))
    async with session_scope(db) as session:
        for result in results:
            await record_result(session, ingestor, result)
    return list(results)
