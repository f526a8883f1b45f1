"""ML prediction events: predictions and their late ground-truth labels, joined by id, turned
into the model service's `accuracy` series (rolling, over the newest labelled predictions) and
a `prediction` series for drift detection.

Correctness of one prediction: equal outcomes, except that a probability (a number strictly
between 0 and 1) against a 0/1 or true/false label counts as the class `probability >= 0.5`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.upsert import insert_ignoring_conflicts
from failcast.errors import ValidationFailed
from failcast.ingest.schemas import IngestLimits
from failcast.ingest.service import Ingestor
from failcast.ingest.validate import ValidSample, labels_key
from failcast.integrations.schemas import LabelIn, PredictionIn
from failcast.models import PredictionEvent, Service, ServiceKind
from failcast.timeutil import now_ms

ACCURACY_WINDOW = 100
# Far beyond any ingest window, and small enough for every integer column.
_FAR_SECONDS = 1e12
ACCURACY_METRIC = "accuracy"
PREDICTION_METRIC = "prediction"


@dataclass(frozen=True, slots=True)
class MlOutcome:
    accepted: int
    joined: int
    accuracy: float | None


def is_correct(prediction: Any, label: Any) -> bool:
    """Whether a prediction matches its label (see the module docstring)."""
    probability = (
        isinstance(prediction, float) and not isinstance(prediction, bool) and 0 < prediction < 1
    )
    if probability and (isinstance(label, bool) or label in (0, 1)):
        return bool(prediction >= 0.5) == bool(label)
    if isinstance(prediction, str) or isinstance(label, str):
        return str(prediction) == str(label)
    same: bool = float(prediction) == float(label)
    return same


async def model_service_id(session: AsyncSession, org_id: int, name: str) -> int:
    """The id of the model's service, created as an ML model if new. A service created as a
    microservice (the default of plain metric ingestion, e.g. latency logged before the first
    prediction) becomes an ML model: prediction events say what it is."""
    await insert_ignoring_conflicts(
        session,
        Service.__table__,  # type: ignore[arg-type]
        [{"org_id": org_id, "name": name, "kind": ServiceKind.ml_model, "description": ""}],
        ["org_id", "name"],
    )
    service_id = await session.scalar(
        select(Service.id).where(Service.org_id == org_id, Service.name == name)
    )
    assert service_id is not None
    await session.execute(
        update(Service)
        .where(Service.id == service_id, Service.kind == ServiceKind.microservice)
        .values(kind=ServiceKind.ml_model)
    )
    return service_id


async def _events(
    session: AsyncSession, service_id: int, ids: Sequence[str]
) -> dict[str, PredictionEvent]:
    found: dict[str, PredictionEvent] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        rows = await session.scalars(
            select(PredictionEvent).where(
                PredictionEvent.service_id == service_id,
                PredictionEvent.prediction_id.in_(unique[start : start + 500]),
            )
        )
        found |= {event.prediction_id: event for event in rows}
    return found


async def rolling_accuracy(
    session: AsyncSession, service_id: int, window: int = ACCURACY_WINDOW
) -> float | None:
    """Share of correct predictions among the newest `window` labelled ones."""
    rows = list(
        await session.scalars(
            select(PredictionEvent.correct)
            .where(PredictionEvent.service_id == service_id, PredictionEvent.correct.is_not(None))
            .order_by(PredictionEvent.labelled_at.desc(), PredictionEvent.id.desc())
            .limit(window)
        )
    )
    if not rows:
        return None
    return sum(1 for correct in rows if correct) / len(rows)


def _sample(model: str, metric: str, labels: dict[str, str], ts: int, value: float) -> ValidSample:
    return ValidSample(model, metric, labels, labels_key(labels), ts, value)


def _ts(value: float | None, now: int) -> int:
    # Bounded first: round() of 1e300 seconds is an integer no column holds.
    if value is None:
        return now
    return round(max(min(value, _FAR_SECONDS), -_FAR_SECONDS) * 1000)


def _prediction_sample(model: str, item: PredictionIn, ts: int) -> ValidSample:
    value = item.prediction
    if isinstance(value, str):
        return _sample(model, PREDICTION_METRIC, {"class": value[:256]}, ts, 1.0)
    return _sample(model, PREDICTION_METRIC, {}, ts, float(value))


def _in_window(ts: int, limits: IngestLimits) -> bool:
    return limits.earliest_ms <= ts <= limits.latest_ms


def check_times(
    items: Sequence[PredictionIn | LabelIn], limits: IngestLimits, field: str, now: int
) -> None:
    """Refuse the batch (422) when an event's time is outside the ingest window, as a metric
    batch is: the event's samples could not be stored, and its join would be out of reach."""
    problems = []
    for index, item in enumerate(items):
        if item.ts is not None and not _in_window(_ts(item.ts, now), limits):
            msg = "timestamp is outside the accepted ingest window"
            problems.append({"field": f"{field}.{index}.ts", "msg": msg})
    if problems:
        raise ValidationFailed(problems)


class PredictionLog:
    """Stores prediction and label batches and keeps the model's accuracy series current."""

    def __init__(self, ingestor: Ingestor, window: int = ACCURACY_WINDOW) -> None:
        self.ingestor = ingestor
        self.window = window

    async def add_predictions(
        self,
        session: AsyncSession,
        org_id: int,
        model: str,
        items: Sequence[PredictionIn],
        limits: IngestLimits,
    ) -> MlOutcome:
        now = now_ms()
        check_times(items, limits, "predictions", now)
        service_id = await model_service_id(session, org_id, model)
        events = await _events(session, service_id, [item.id for item in items])
        samples: list[ValidSample] = []
        joined = accepted = 0
        for item in items:
            ts = _ts(item.ts, now)
            event = events.get(item.id)
            if event is None:
                event = PredictionEvent(
                    org_id=org_id, service_id=service_id, prediction_id=item.id, label=None
                )
                session.add(event)
                events[item.id] = event
            elif event.predicted_at is not None:
                continue  # a re-sent prediction: the first one stands
            event.predicted_at = ts
            event.features = item.features
            event.prediction = item.prediction
            accepted += 1
            if event.labelled_at is not None:
                event.correct = is_correct(item.prediction, event.label)
                joined += 1
            samples.append(_prediction_sample(model, item, ts))
        return await self._finish(
            session, org_id, model, service_id, samples, accepted, joined, now, limits
        )

    async def add_labels(
        self,
        session: AsyncSession,
        org_id: int,
        model: str,
        items: Sequence[LabelIn],
        limits: IngestLimits,
    ) -> MlOutcome:
        now = now_ms()
        check_times(items, limits, "labels", now)
        service_id = await model_service_id(session, org_id, model)
        events = await _events(session, service_id, [item.id for item in items])
        joined = accepted = 0
        for item in items:
            event = events.get(item.id)
            if event is None:
                # The label came first; it waits here for its prediction.
                event = PredictionEvent(
                    org_id=org_id, service_id=service_id, prediction_id=item.id, prediction=None
                )
                session.add(event)
                events[item.id] = event
            event.label = item.label
            event.labelled_at = _ts(item.ts, now)
            accepted += 1
            if event.predicted_at is not None:
                event.correct = is_correct(event.prediction, item.label)
                joined += 1
        return await self._finish(
            session, org_id, model, service_id, [], accepted, joined, now, limits
        )

    async def _finish(
        self,
        session: AsyncSession,
        org_id: int,
        model: str,
        service_id: int,
        samples: list[ValidSample],
        accepted: int,
        joined: int,
        now: int,
        limits: IngestLimits,
    ) -> MlOutcome:
        """Write the accuracy point (when labels were joined) and commit it all at once."""
        accuracy = None
        if joined:
            await session.flush()
            accuracy = await rolling_accuracy(session, service_id, self.window)
            if accuracy is not None and _in_window(now, limits):
                samples.append(_sample(model, ACCURACY_METRIC, {}, now, accuracy))
        # The ingestor commits the events together with the samples, or rolls all of it back.
        await self.ingestor.ingest_samples(session, org_id, samples, commit_series_first=False)
        return MlOutcome(accepted, joined, accuracy)
