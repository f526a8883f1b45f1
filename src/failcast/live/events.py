"""What changes in an org, pushed to its live stream once it is committed.

Messages go to the org's topic of the hub (in-process, or Redis pub/sub so that every API
replica's WebSockets hear what any process committed):

    {"type": "alert", "event": "new" | "state", "alert": {"id", "state", "previous_state",
     "severity", "service", "title", "rule_id", "labels"}}
    {"type": "predictions", "count", "ts", "items": [{"service_id", "horizon_h",
     "probability", "alarm", "risk_level", "incident_type"}]}
    {"type": "ingest", "samples", "logs"}
    {"type": "health", "ts", "services": [{"service", "score", "status"}]}

Alerts and predictions are noticed by the store itself: a listener on every session of the
app's database records the new and changed rows of each flush, and they are published when
the transaction commits, so nothing rolled back is announced and no writer has to remember
to publish. Samples are written in bulk past the ORM, so the ingest path `stage`s its counts.
Health is computed, not stored: after an org's ingest it is recomputed (at most once per
`health_seconds`, or per nine times as long as the last computation took, and once more
after the last ingest of a burst) and the services whose score or status moved are published.
The services whose status moved from a known one are also handed to the `status_listeners`
(early re-scoring of predictions listens).

The simulator publishes its ticks to the same topic:

    {"type": "tick", "ts", "values": {service: {metric: value}}, "active_faults": [{"target",
     ...}]}

`scoped` cuts a message down to what a member restricted to their teams' services may see.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.live.hub import Hub, org_topic
from failcast.models import Alert, FailurePrediction
from failcast.teams.service import Visibility

log = logging.getLogger("failcast.live")

_PUBLISHER = "failcast.live.publisher"
_PENDING = "failcast.live.pending"
# A commit that writes many predictions announces them all, with the first ones listed.
MAX_ITEMS = 100

Pending = list[tuple[int, dict[str, Any]]]
# Called with an org id and the ids of its services whose health status changed.
StatusListener = Callable[[int, list[int]], Awaitable[None]]


def stage(session: AsyncSession | Session, org_id: int, message: dict[str, Any]) -> None:
    """Publish `message` to the org's stream when the session's transaction commits."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if _PUBLISHER in sync.info:
        sync.info.setdefault(_PENDING, []).append((org_id, message))


def scoped(message: dict[str, Any], seen: Visibility) -> dict[str, Any] | None:
    """The part of `message` about the services `seen` admits, or None when nothing of it is
    left. Ingest counts name no service and pass whole; a kind not known here is withheld."""
    if seen.everything:
        return message
    kind = message.get("type")
    if kind == "alert":
        return message if seen.admits(message["alert"]["service"]) else None
    if kind == "predictions":
        items = [i for i in message["items"] if seen.admits_id(i["service_id"])]
        if not items:
            return None
        return {**message, "count": len(items), "ts": max(i["ts"] for i in items), "items": items}
    if kind == "health":
        services = [s for s in message["services"] if seen.admits(s["service"])]
        return {**message, "services": services} if services else None
    if kind == "tick":
        values = {k: v for k, v in message["values"].items() if seen.admits(k)}
        faults = [f for f in message["active_faults"] if seen.admits(f.get("target"))]
        return {**message, "values": values, "active_faults": faults}
    return message if kind == "ingest" else None


def _alert(alert: Alert, previous: str | None) -> dict[str, Any]:
    return {
        "id": alert.id,
        "state": alert.state,
        "previous_state": previous,
        "severity": alert.severity,
        "service": alert.service,
        "title": alert.title,
        "rule_id": alert.rule_id,
        "labels": dict(alert.labels),
    }


def _prediction(row: FailurePrediction) -> dict[str, Any]:
    return {
        "service_id": row.service_id,
        "horizon_h": row.horizon_h,
        "probability": row.probability,
        "alarm": row.alarm,
        "risk_level": row.risk_level,
        "incident_type": row.incident_type,
        "ts": row.ts.isoformat(),
    }


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    if _PUBLISHER not in session.info:
        return
    pending: Pending = session.info.setdefault(_PENDING, [])
    for obj in session.new:
        if isinstance(obj, Alert):
            message = {"type": "alert", "event": "new", "alert": _alert(obj, None)}
            pending.append((obj.org_id, message))
        elif isinstance(obj, FailurePrediction) and not obj.shadow:
            pending.append((obj.org_id, {"type": "prediction", "item": _prediction(obj)}))
    for obj in session.dirty:
        if not isinstance(obj, Alert):
            continue
        history = inspect(obj).attrs.state.history
        if history.added and history.deleted and history.added[0] != history.deleted[0]:
            message = {"type": "alert", "event": "state", "alert": _alert(obj, history.deleted[0])}
            pending.append((obj.org_id, message))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending: Pending | None = session.info.pop(_PENDING, None)
    publisher = session.info.get(_PUBLISHER)
    if pending and isinstance(publisher, LivePublisher):
        publisher.schedule(merge(pending))


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


def merge(pending: Iterable[tuple[int, dict[str, Any]]]) -> Pending:
    """One transaction's messages in order, its predictions and ingest counts summed up per
    org into one message each."""
    out: Pending = []
    predictions: dict[int, list[dict[str, Any]]] = {}
    ingest: dict[int, dict[str, Any]] = {}
    for org_id, message in pending:
        if message["type"] == "prediction":
            predictions.setdefault(org_id, []).append(message["item"])
        elif message["type"] == "ingest":
            total = ingest.get(org_id)
            if total is None:
                total = ingest[org_id] = {"type": "ingest", "samples": 0, "logs": 0}
                out.append((org_id, total))
            total["samples"] += int(message.get("samples", 0))
            total["logs"] += int(message.get("logs", 0))
        else:
            out.append((org_id, message))
    for org_id, items in predictions.items():
        latest = max(item["ts"] for item in items)
        message = {
            "type": "predictions",
            "count": len(items),
            "ts": latest,
            "items": items[:MAX_ITEMS],
        }
        out.append((org_id, message))
    return out


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """One service's health as the stream shows it."""

    id: int
    name: str
    score: float | None
    status: str


# Between two health computations of an org, at least this many times as long as the last
# one took.
HEALTH_IDLE_FACTOR = 9

# The org's service statuses at a time; the health domain provides it (live knows no scoring).
HealthReader = Callable[[AsyncSession, int, int], Awaitable[list[ServiceStatus]]]


class LivePublisher:
    """Publishes committed changes of the app's database to the orgs' topics of `hub`;
    health changes too when given a `read_health`."""

    def __init__(
        self,
        database: Database,
        hub: Hub,
        *,
        read_health: HealthReader | None = None,
        health_seconds: float = 1.0,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.database = database
        self.hub = hub
        self.read_health = read_health
        self.health_seconds = health_seconds
        self.now_ms = now_ms
        self._tasks: set[asyncio.Task[None]] = set()
        self._health: dict[int, dict[str, tuple[float | None, str]]] = {}
        self._health_due: set[int] = set()
        self._health_tasks: dict[int, asyncio.Task[None]] = {}
        self.status_listeners: list[StatusListener] = []

    def install(self) -> None:
        """Watch every session the database hands out from now on."""
        # Added to what the sessions already carry (the metrics engine, db/engine.py).
        info = dict(self.database.sessions.kw.get("info") or {})
        self.database.sessions.configure(info=info | {_PUBLISHER: self})

    def schedule(self, messages: Pending) -> None:
        """Publish in the background (called where a commit finished)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a commit outside any event loop has no stream to feed
            return
        task = loop.create_task(self._publish(messages))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def publish(self, org_id: int, message: dict[str, Any]) -> None:
        try:
            await self.hub.publish(org_topic(org_id), {**message, "org_id": org_id})
        except Exception:  # a stream that cannot be fed must not fail what was committed
            log.warning("live event not published", exc_info=True)

    async def _publish(self, messages: Pending) -> None:
        for org_id, message in messages:
            await self.publish(org_id, message)
            if message["type"] == "ingest" and message["samples"]:
                self.health_changed(org_id)

    def health_changed(self, org_id: int) -> None:
        """Recompute the org's health soon; a burst of ingests costs one computation per
        `health_seconds`, and the last of them is always looked at."""
        self._health_due.add(org_id)
        if org_id not in self._health_tasks:
            task = asyncio.get_running_loop().create_task(self._watch_health(org_id))
            self._health_tasks[org_id] = task

    async def _watch_health(self, org_id: int) -> None:
        try:
            while org_id in self._health_due:
                self._health_due.discard(org_id)
                started = time.perf_counter()
                try:
                    await self.check_health(org_id)
                except Exception:
                    log.warning("live health not computed", exc_info=True)
                # An org whose health takes long to compute (many series) has it computed
                # less often: at most a tenth of the time goes to it while ingest goes on.
                spent = time.perf_counter() - started
                await asyncio.sleep(max(self.health_seconds, HEALTH_IDLE_FACTOR * spent))
        finally:
            del self._health_tasks[org_id]

    async def check_health(self, org_id: int) -> None:
        """Recompute the org's health now; publish what moved and tell the status listeners."""
        if self.read_health is None:
            return
        at_ms = self.now_ms()
        async with session_scope(self.database) as session:
            statuses = await self.read_health(session, org_id, at_ms)
        now = {s.name: (s.score, s.status) for s in statuses}
        before = self._health.get(org_id, {})
        changed = [name for name in sorted(now) if before.get(name) != now[name]]
        self._health[org_id] = now
        if not changed:
            return
        services = [{"service": n, "score": now[n][0], "status": now[n][1]} for n in changed]
        await self.publish(org_id, {"type": "health", "ts": at_ms, "services": services})
        # A status seen for the first time (after a restart, or a new service) is no change.
        ids = {s.name: s.id for s in statuses}
        moved = [
            ids[n]
            for n in changed
            if n in before and before[n][1] != now[n][1] and now[n][1] != "unknown"
        ]
        for listener in self.status_listeners if moved else ():
            try:
                await listener(org_id, moved)
            except Exception:  # a listener's failure must not stop the health stream
                log.warning("health status listener failed", exc_info=True)

    async def close(self) -> None:
        """Let what was committed go out; stop watching health."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
        watchers = list(self._health_tasks.values())
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
