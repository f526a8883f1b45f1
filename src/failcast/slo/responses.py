"""Bodies the SLO API answers with."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from failcast.slo.schemas import SloDefinition
from failcast.slo.service import Evaluation
from failcast.timeutil import ms_to_datetime


class SloOut(SloDefinition):
    """A stored SLO: its definition with its id."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    created_at: datetime
    updated_at: datetime


class SloImportResult(BaseModel):
    """What an import created and replaced, and the format it was read as."""

    format: Literal["sloth", "openslo", "failcast"]
    created: list[int]
    updated: list[int]
    slos: list[SloOut]


class BudgetOut(BaseModel):
    total_events: float
    bad_events: float
    sli: float | None
    allowed_bad: float
    consumed: float
    remaining: float
    exhausted: bool


class TierOut(BaseModel):
    name: str
    severity: Literal["page", "ticket"]
    burn_rate_threshold: float
    long_window_minutes: float
    short_window_minutes: float
    long_burn: float
    short_burn: float
    long_bad: float
    long_total: float
    burning: bool
    guarded: bool
    firing: bool


class GuardOut(BaseModel):
    min_events: int
    min_bad_events: int
    holding_back: list[str]  # tiers burning but held back by the minimum-traffic guard


class SloStatusOut(BaseModel):
    """Budget, burn rates and alert tiers of one SLO at one instant."""

    id: int
    name: str
    service: str
    objective: float
    window_days: int
    at: datetime
    data: Literal["ok", "no_data", "unresolved"]
    problem: str | None
    budget: BudgetOut | None
    burn_rates: dict[str, float]
    burn_rate_1h: float | None
    severity: Literal["page", "ticket", "none"]
    hours_to_exhaustion: float | None
    tiers: list[TierOut]
    guard: GuardOut

    @classmethod
    def of(cls, evaluation: Evaluation) -> SloStatusOut:
        slo, status = evaluation.slo, evaluation.status
        guard = slo.alerting.guard
        budget = None
        tiers: list[TierOut] = []
        if status is not None:
            b = status.budget
            budget = BudgetOut(
                total_events=b.total,
                bad_events=b.bad,
                sli=b.sli,
                allowed_bad=b.allowed_bad,
                consumed=b.consumed,
                remaining=b.remaining,
                exhausted=b.exhausted,
            )
            tiers = [
                TierOut(
                    name=t.tier.name,
                    severity=t.tier.severity,
                    burn_rate_threshold=t.tier.burn_rate,
                    long_window_minutes=t.tier.long_window_ms / 60_000,
                    short_window_minutes=t.tier.short_window_ms / 60_000,
                    long_burn=t.long_burn,
                    short_burn=t.short_burn,
                    long_bad=t.long_bad,
                    long_total=t.long_total,
                    burning=t.burning,
                    guarded=t.guarded,
                    firing=t.firing,
                )
                for t in status.tiers
            ]
        return cls(
            id=evaluation.row.id,
            name=slo.name,
            service=slo.service,
            objective=slo.objective,
            window_days=slo.window_days,
            at=ms_to_datetime(evaluation.at_ms),
            data=evaluation.data,
            problem=evaluation.problem,
            budget=budget,
            burn_rates=evaluation.burn_rates,
            burn_rate_1h=status.burn_rate_1h if status else None,
            severity=(status.severity if status and status.severity else "none"),
            hours_to_exhaustion=status.hours_to_exhaustion if status else None,
            tiers=tiers,
            guard=GuardOut(
                min_events=guard.min_events,
                min_bad_events=guard.min_bad_events,
                holding_back=[t.name for t in tiers if t.guarded],
            ),
        )
