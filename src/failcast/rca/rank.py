"""Rank services as the cause of a symptom, from their anomalies and the call graph.

`dependencies[s]` are the services `s` calls (caller -> callee). A failing callee makes its
callers slow or failing too, so an anomalous service with an anomalous dependency below it,
directly or not, is probably that dependency's symptom. Each candidate's score is

    score(c) = a(c) * (1 - DISCOUNT * x(c)) * prior(c)

where a(c) in [0, 1] is its own anomaly, x(c) the strongest anomaly among its dependencies
(direct or not) that reach the evidence floor and did not begin after c's own anomaly, and
prior(c) is 1 inside the symptom's dependency cone (the symptom and everything it depends on)
and `OUTSIDE_PRIOR` elsewhere: a declared topology can miss an edge or a shared host, so a
service outside the cone can still be named, but it needs more evidence. Without any call
graph there is no cone, and every service is judged on its own anomaly.

The verdict is a root cause when the top score reaches the evidence floor and the runner-up's
surprise (the decades of rarity behind its score) is below (1 - MARGIN) times the top's;
otherwise "inconclusive", with the candidates that came close.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from failcast.detect.tail import from_unit
from failcast.rca.anomaly import ServiceAnomaly

DISCOUNT = 0.8
OUTSIDE_PRIOR = 0.5
EVIDENCE_FLOOR = 0.3
MARGIN = 0.25

Verdict = Literal["root_cause", "inconclusive"]


@dataclass(frozen=True)
class Settings:
    """The graph stage's constants; the defaults are what the CLI, the API and the bench use."""

    discount: float = DISCOUNT
    outside_prior: float = OUTSIDE_PRIOR
    evidence_floor: float = EVIDENCE_FLOOR
    margin: float = MARGIN
    onset_tolerance_ms: int = 120_000
    lead_limit_ms: int = 240_000


@dataclass(frozen=True)
class Candidate:
    service: str
    score: float
    anomaly: ServiceAnomaly
    explained_by: str | None  # the dependency whose anomaly discounts this one
    in_cone: bool
    hops: int | None  # from the symptom down to this service; None outside the cone


@dataclass(frozen=True)
class Ranking:
    verdict: Verdict
    reason: str
    candidates: tuple[Candidate, ...]  # best first
    close: tuple[str, ...]  # services too close to the top to tell apart (inconclusive)


def below(service: str, dependencies: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Every service `service` depends on, directly or not, with its hop distance."""
    hops: dict[str, int] = {}
    queue = deque([(service, 0)])
    while queue:
        current, distance = queue.popleft()
        for callee in dependencies.get(current, ()):
            if callee != service and callee not in hops:
                hops[callee] = distance + 1
                queue.append((callee, distance + 1))
    return hops


def _explanation(
    service: ServiceAnomaly,
    dependencies: Mapping[str, Sequence[str]],
    anomalies: Mapping[str, ServiceAnomaly],
    settings: Settings,
) -> tuple[float, str | None]:
    best, by = 0.0, None
    for name in sorted(below(service.service, dependencies)):
        other = anomalies.get(name)
        if other is None or other.score < settings.evidence_floor:
            continue
        unrelated = (
            service.onset_ms is not None
            and other.onset_ms is not None
            and not (
                service.onset_ms - settings.lead_limit_ms
                <= other.onset_ms
                <= service.onset_ms + settings.onset_tolerance_ms
            )
        )
        if not unrelated and other.score > best:
            best, by = other.score, name
    return best, by


def rank(
    symptom: str,
    dependencies: Mapping[str, Sequence[str]],
    anomalies: Mapping[str, ServiceAnomaly],
    settings: Settings | None = None,
) -> Ranking:
    """Rank every service with an anomaly reading as the cause of `symptom`."""
    settings = settings or Settings()
    cone = {symptom: 0, **below(symptom, dependencies)}
    # Without a call graph there is no cone to stay inside: every service is judged on its
    # anomaly alone.
    known = any(dependencies.values())
    candidates = []
    for name, anomaly in anomalies.items():
        explained, by = _explanation(anomaly, dependencies, anomalies, settings)
        inside = name in cone
        prior = 1.0 if inside or not known else settings.outside_prior
        score = anomaly.score * (1.0 - settings.discount * explained) * prior
        candidates.append(Candidate(name, score, anomaly, by, inside, cone.get(name)))
    candidates.sort(key=lambda c: (-c.score, not c.in_cone, -(c.hops or 0), c.service))
    ordered = tuple(candidates)
    if not ordered or ordered[0].score < settings.evidence_floor:
        reason = (
            f"no service is anomalous enough around the symptom "
            f"(evidence floor {settings.evidence_floor:.2f})"
        )
        return Ranking("inconclusive", reason, ordered, ())
    top = ordered[0]
    # The margin is taken on the surprise behind the scores (decades of rarity), which has no
    # ceiling: two very large anomalies can be far apart while their scores are both near 1.
    bar = (1.0 - settings.margin) * from_unit(top.score)
    close = tuple(c.service for c in ordered if from_unit(c.score) >= bar)
    if len(close) > 1:
        names = ", ".join(close)
        reason = f"{names} score within {settings.margin:.0%} of each other"
        return Ranking("inconclusive", reason, ordered, close)
    where = "itself" if top.service == symptom else top.service
    reason = f"{symptom} is explained by {where}"
    if top.anomaly.metric is not None:
        reason += f" ({top.anomaly.metric.metric})"
    return Ranking("root_cause", reason, ordered, (top.service,))
