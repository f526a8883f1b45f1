"""Injected faults as the database keeps them, read back as the simulator's faults."""

from __future__ import annotations

from failcast.chaos.faults import Fault, FaultKind
from failcast.models import ChaosFault


def fault_from_row(row: ChaosFault) -> Fault | None:
    """The fleet's view of a stored fault, or None when it was stopped before it hit."""
    duration = row.duration_s
    hit = row.start + row.lead_s
    if row.stopped_at is not None:
        if row.stopped_at <= hit:
            return None
        duration = min(duration, row.stopped_at - hit)
    return Fault(
        kind=FaultKind(row.kind),
        target=row.target,
        start=row.start,
        duration_s=duration,
        intensity=row.intensity,
        lead_s=row.lead_s,
        id=f"fault-{row.id}",
    )
