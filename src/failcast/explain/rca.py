"""Root-cause ranking over the dependency graph.

Candidates are the failing service and everything it depends on, directly or not. Each has an
anomaly level e in [0, 1]. A candidate whose own dependencies are anomalous too is probably a
symptom of them, so its score is discounted by the strongest anomaly below it:

    score(c) = e(c) * (1 - discount * max{ e(d) : d below c, e(d) >= min_evidence })

The best score names the cause, unless it is weak (below `min_evidence`) or the runner-up is
within `margin` of it: then the answer is "inconclusive" rather than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from failcast.explain.evidence import ServiceEvidence

DEFAULT_MARGIN = 0.15
DEFAULT_MIN_EVIDENCE = 0.3
DEFAULT_DISCOUNT = 0.6


@dataclass(frozen=True)
class Candidate:
    service: str
    score: float
    evidence: float
    explained_by: str | None  # the anomalous dependency that discounts this candidate
    hops: int  # 0 for the failing service itself
    metrics: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class RootCause:
    """The verdict for one failing service."""

    service: str
    verdict: Literal["conclusive", "inconclusive"]
    cause: str | None
    metric: str | None
    margin: float
    reason: str
    candidates: tuple[Candidate, ...]


def _below(service: str, dependencies: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Every dependency of `service`, direct or not, with its hop distance."""
    hops: dict[str, int] = {}
    frontier = [(d, 1) for d in dependencies.get(service, ())]
    while frontier:
        name, distance = frontier.pop(0)
        if name == service or (name in hops and hops[name] <= distance):
            continue
        hops[name] = distance
        frontier.extend((d, distance + 1) for d in dependencies.get(name, ()))
    return hops


def rank_root_causes(
    service: str,
    dependencies: Mapping[str, Sequence[str]],
    evidence: Mapping[str, ServiceEvidence],
    *,
    margin: float = DEFAULT_MARGIN,
    min_evidence: float = DEFAULT_MIN_EVIDENCE,
    discount: float = DEFAULT_DISCOUNT,
) -> RootCause:
    """Rank the candidates for why `service` fails, from per-service evidence."""
    hops = {service: 0, **_below(service, dependencies)}
    candidates = []
    for name, distance in hops.items():
        own = evidence.get(name)
        if own is None:
            continue
        below = [
            (evidence[d].score, d)
            for d in _below(name, dependencies)
            if d in evidence and evidence[d].score >= min_evidence
        ]
        strongest = max(below, default=(0.0, None))
        score = own.score * (1.0 - discount * strongest[0])
        candidates.append(
            Candidate(name, score, own.score, strongest[1], distance, tuple(own.top_metrics()))
        )
    candidates.sort(key=lambda c: (-c.score, -c.hops, c.service))
    if not candidates or candidates[0].score < min_evidence:
        return RootCause(
            service, "inconclusive", None, None, 0.0,
            f"no candidate reaches the evidence floor of {min_evidence:.2f}", tuple(candidates),
        )  # fmt: skip
    top = candidates[0]
    gap = top.score - (candidates[1].score if len(candidates) > 1 else 0.0)
    if gap < margin:
        return RootCause(
            service, "inconclusive", None, None, gap,
            f"{top.service} and {candidates[1].service} are within {gap:.2f} "
            f"(needs {margin:.2f})",
            tuple(candidates),
        )  # fmt: skip
    metric = top.metrics[0][0] if top.metrics else None
    where = "itself" if top.service == service else f"its dependency {top.service}"
    reason = f"{service} fails because of {where}"
    if metric is not None:
        reason += f" ({metric} anomalous, evidence {top.evidence:.2f})"
    return RootCause(service, "conclusive", top.service, metric, gap, reason, tuple(candidates))
