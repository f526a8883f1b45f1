"""The `slo_burn` alert signal: per SLO, the loudest firing burn-rate tier (2 page, 1 ticket,
0 none), read from stored samples at the evaluation time.

As in the SRE workbook, an SLO raises one severity at a time (`loudest`): while a paging tier
fires, a rule asking for the ticket tier gets no signal for that SLO, so the page supersedes
the ticket instead of arriving beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

from failcast.signals import Signal, SignalRequest
from failcast.slo import service

LOUDNESS = {"page": 2.0, "ticket": 1.0}


class SloBurnSignals:
    """Alert rules of kind slo_burn read every SLO of the org (or the rule's service and SLO)."""

    async def signals(self, request: SignalRequest) -> Sequence[Signal]:
        at_ms = int(request.now.timestamp() * 1000)
        wanted = request.params.get("slo")
        ticket_rule = request.params.get("tier") == "ticket"
        found = await service.evaluate_all(request.session, request.org_id, at_ms, request.service)
        out: list[Signal] = []
        for evaluation in found:
            status = evaluation.status
            if status is None or (wanted and evaluation.slo.name != wanted):
                continue
            if ticket_rule and status.severity == "page":
                continue
            firing = [t.tier.name for t in status.tiers if t.firing]
            out.append(
                Signal(
                    service=evaluation.slo.service,
                    value=LOUDNESS.get(status.severity or "", 0.0),
                    labels={"slo": evaluation.slo.name},
                    time_to_impact_hours=status.hours_to_exhaustion,
                    details={
                        "slo_id": evaluation.row.id,
                        "objective": evaluation.slo.objective,
                        "budget_remaining": status.budget.remaining,
                        "burn_rate_1h": status.burn_rate_1h,
                        "firing_tiers": firing,
                    },
                )
            )
        return out
