"""Failure predictions: parsed, combined per service and for the organisation, and how old."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from failcast.readable import describe_factor
from failcast.ui.logic.formatting import ago


@dataclass(frozen=True)
class Prediction:
    """One service's failure probability at one horizon, with its explanation."""

    service: str
    horizon_hours: int
    probability: float
    failure_type: str | None = None
    factors: tuple[str, ...] = ()
    root_cause: str | None = None
    model_version: int | None = None
    ts: str = ""
    alarm: bool = False


def root_cause_text(root_cause: Mapping[str, Any] | None) -> str | None:
    """The root-cause verdict as one sentence: which service and metric, and why."""
    if not root_cause:
        return None
    where = str(root_cause.get("service") or "")
    if root_cause.get("metric"):
        where += f" ({root_cause['metric']})"
    reason = str(root_cause.get("reason") or "").strip()
    verdict = str(root_cause.get("verdict") or "").replace("_", " ")
    text = ": ".join(part for part in (where.strip(), reason) if part)
    return f"{text} [{verdict}]" if verdict and text else text or verdict or None


def parse_predictions(payload: Any) -> list[Prediction]:
    """Predictions of a /predictions answer (`{"items": [...]}`)."""
    out = []
    for item in (payload or {}).get("items") or []:
        probability = float(item["probability"])
        if not math.isfinite(probability):
            continue
        factors = tuple(
            describe_factor(f) for f in item.get("factors") or [] if isinstance(f, Mapping)
        )
        out.append(
            Prediction(
                service=str(item["service"]),
                horizon_hours=int(item["horizon_hours"]),
                probability=min(1.0, max(0.0, probability)),
                failure_type=item.get("failure_type") or None,
                factors=factors,
                root_cause=root_cause_text(item.get("root_cause")),
                model_version=item.get("model_version"),
                ts=str(item.get("ts") or ""),
                alarm=bool(item.get("alarm")),
            )
        )
    return out


def probabilities_by_service(predictions: Iterable[Prediction]) -> dict[str, dict[int, float]]:
    """{service: {horizon: highest probability}} for the horizons the risk rules know."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for p in predictions:
        if p.horizon_hours in (24, 48, 72):
            out[p.service][p.horizon_hours] = max(
                p.probability, out[p.service].get(p.horizon_hours, 0.0)
            )
    return dict(out)


def org_failure_probability(by_service: Mapping[str, Mapping[int, float]], horizon: int) -> float:
    """P(at least one service fails within `horizon` h), taking services as independent."""
    survive = 1.0
    for horizons in by_service.values():
        survive *= 1.0 - horizons.get(horizon, 0.0)
    return 1.0 - survive


# The failure model re-scores every service every 15 minutes, and a service that changed
# sharply at once (predict/tasks.py); a prediction older than this missed its slot and may no
# longer describe the service.
STALE_PREDICTION_S = 20 * 60


def prediction_age(stamp: str, now: float) -> tuple[str, bool]:
    """`scored 4 min ago` for a prediction made at `stamp`, and whether it is stale."""
    try:
        made = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "scored at an unknown time", True
    if made.tzinfo is None:
        made = made.replace(tzinfo=UTC)
    age = max(0.0, now - made.timestamp())
    stale = age > STALE_PREDICTION_S
    text = f"scored {ago(age)}"
    return (f"{text} · stale: scoring runs every 15 min" if stale else text), stale
