"""What makes simulated history as hard to learn from as a real fleet's.

Plain simulated history is kind to a forecaster: every precursor is a clean ramp of one shape
that always ends in failure, no sample is ever missing and every incident is recorded when it
begins. `Hardness` adds, each with its own knob:

- harmless ramps: a precursor that stops part-way and fades back (a leak the runtime's
  collector catches, a drift that reverses), with no incident;
- maintenance and deploys: a share of the leaks (memory, disk, connection pool) is cut short
  by a restart before it breaks anything: the ramp drops back to normal at once;
- precursors of variable shape and speed: each ramp gets its own curvature and may stall for
  part of its course;
- missing data: gaps of five minutes to two hours in single series, and scrape outages of a
  whole service;
- incidents recorded late (up to `late_max_h` after they began) or never.

The base rate of failures is the `organic_rate_per_day` of `history_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from failcast.chaos.faults import (
    ORGANIC_PROFILES,
    SLOW_KINDS,
    Fault,
    FaultKind,
    Incident,
    applicable,
)
from failcast.chaos.fleet import FleetSpec
from failcast.chaos.kinds import FloatArray
from failcast.chaos.signals import SeriesMatrix

# Leaks a restart resets; drifts and creeps are not cured by a deploy.
RESETTABLE: frozenset[FaultKind] = frozenset(
    {FaultKind.memory_leak_oom, FaultKind.disk_fill, FaultKind.connection_pool_exhaustion}
)


@dataclass(frozen=True, slots=True)
class Hardness:
    """How much harder than plain the history is (all zero: plain)."""

    benign_per_day: float = 0.0  # harmless ramps per service per day
    reset_share: float = 0.0  # share of resettable leaks cut short by maintenance or a deploy
    varied_shapes: bool = False  # precursors of variable curvature and speed
    missing_share: float = 0.0  # share of samples lost in gaps
    late_share: float = 0.0  # share of incidents recorded late
    late_max_h: float = 6.0
    unrecorded_share: float = 0.0  # share of incidents never recorded


PLAIN = Hardness()
HARD = Hardness(
    benign_per_day=1 / 10,
    reset_share=0.25,
    varied_shapes=True,
    missing_share=0.02,
    late_share=0.2,
    unrecorded_share=0.1,
)
DIFFICULTIES: dict[str, Hardness] = {"plain": PLAIN, "hard": HARD}


@dataclass(frozen=True, slots=True)
class Precursor:
    """How one fault's precursor unfolds: `progress(t)` in [0, 1] over its lead.

    `exponent` bends the ramp (above 1: slow start, fast end); a stall holds it still from
    `stall_at` for `stall` of the lead. A harmless precursor (`benign`) peaks at `peak` of its
    course and then fades back (`reset` False) or drops to nothing at once (`reset` True).
    """

    exponent: float = 1.0
    stall_at: float = 0.0
    stall: float = 0.0
    benign: bool = False
    peak: float = 1.0
    reset: bool = False

    def progress(self, fraction: FloatArray) -> FloatArray:
        f = np.clip(np.asarray(fraction, dtype=np.float64), 0.0, 1.0)
        if self.benign:
            # The same ramp as a failure's, until it stops at `peak` and goes away.
            top = self.peak**self.exponent
            after = 0.0 if self.reset else top * np.clip((1.0 - f) / (1.0 - self.peak), 0, 1)
            benign: FloatArray = np.where(f < self.peak, f**self.exponent, after)
            return benign
        a, s = self.stall_at, self.stall
        if s > 0:
            # Standing still for a share `s` of the lead; the rest runs faster to end on time.
            f = np.where(f < a, f / (1 - s), np.where(f < a + s, a / (1 - s), (f - s) / (1 - s)))
        out: FloatArray = np.clip(f, 0.0, 1.0) ** self.exponent
        return out


def precursors(faults: list[Fault], hardness: Hardness, seed: int) -> dict[str, Precursor]:
    """A shape for each precursor of `faults` (by fault id) when shapes vary."""
    if not hardness.varied_shapes:
        return {}
    out = {}
    for fault in faults:
        if fault.lead_s <= 0 or fault.id in out:
            continue
        rng = np.random.default_rng([seed & 0xFFFFFFFF, _key(fault.id), 0x5A9E])
        stall = float(rng.uniform(0.0, 0.3)) if rng.random() < 0.5 else 0.0
        out[fault.id] = Precursor(
            exponent=float(rng.uniform(0.6, 2.5)),
            stall_at=float(rng.uniform(0.1, 1.0 - stall - 0.1)) if stall else 0.0,
            stall=stall,
        )
    return out


def _key(text: str) -> int:
    return int.from_bytes(text.encode()[-8:].rjust(8, b"\0"), "little") & 0xFFFFFFFF


def harmless_ramps(
    fleet: FleetSpec, start: float, end: float, seed: int, hardness: Hardness
) -> tuple[list[Fault], dict[str, Precursor]]:
    """Precursors that never end in failure, `benign_per_day` per service on average, with
    their shapes: ramps that fade back, and (for leaks) ramps a restart resets."""
    faults: list[Fault] = []
    shapes: dict[str, Precursor] = {}
    if hardness.benign_per_day <= 0 or end <= start:
        return faults, shapes
    for position, spec in enumerate(fleet):
        kinds = [k for k in ORGANIC_PROFILES if k in SLOW_KINDS and applicable(k, spec, fleet)]
        if not kinds:
            continue
        rng = np.random.default_rng([seed & 0xFFFFFFFF, position, 0xB0E1])
        t = start
        while True:
            t += float(rng.exponential(86400.0 / hardness.benign_per_day))
            if t >= end:
                break
            kind = kinds[int(rng.integers(len(kinds)))]
            lead_lo, lead_hi, _, _ = ORGANIC_PROFILES[kind]
            lead = float(rng.uniform(lead_lo, lead_hi)) * 3600.0
            fault = Fault(kind, spec.name, t, 1.0, lead_s=lead, id=f"harmless-{spec.name}-{int(t)}")
            faults.append(fault)
            shapes[fault.id] = Precursor(
                exponent=float(rng.uniform(0.6, 2.5)) if hardness.varied_shapes else 1.0,
                benign=True,
                peak=float(rng.uniform(0.3, 0.8)),
                reset=kind in RESETTABLE and bool(rng.random() < 0.5),
            )
    return faults, shapes


def maintenance_resets(
    faults: list[Fault], hardness: Hardness, seed: int, shapes: dict[str, Precursor]
) -> dict[str, Precursor]:
    """Leaks cut short by a restart: their precursor drops to nothing part-way, and they cause
    no incident. Returns the shapes of the faults reset."""
    out: dict[str, Precursor] = {}
    if hardness.reset_share <= 0:
        return out
    for fault in faults:
        if fault.kind not in RESETTABLE or fault.lead_s <= 0:
            continue
        rng = np.random.default_rng([seed & 0xFFFFFFFF, _key(fault.id), 0x4E5E7])
        if rng.random() < hardness.reset_share:
            shape = shapes.get(fault.id, Precursor())
            out[fault.id] = replace(
                shape, benign=True, reset=True, peak=float(rng.uniform(0.3, 0.9)), stall=0.0
            )
    return out


def drop_samples(matrix: SeriesMatrix, hardness: Hardness, seed: int) -> SeriesMatrix:
    """Gaps of five minutes to two hours in single series, and outages of a whole service,
    together about `missing_share` of the samples."""
    if hardness.missing_share <= 0 or matrix.values.size == 0:
        return matrix
    values = matrix.values.copy()
    n = values.shape[1]
    step = float(matrix.ts[1] - matrix.ts[0]) if n > 1 else 60.0
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x6A95])
    mean_gap = max(1.0, 3600.0 / step)  # an hour on average
    per_series = hardness.missing_share * n / mean_gap / 2
    for row in range(values.shape[0]):
        for _ in range(int(rng.poisson(per_series))):
            length = int(rng.uniform(300.0 / step, 7200.0 / step)) + 1
            first = int(rng.integers(n))
            values[row, first : first + length] = np.nan
    services = sorted({s for s, _ in matrix.series})
    rows_of = {s: [i for i, (t, _) in enumerate(matrix.series) if t == s] for s in services}
    for service in services:
        for _ in range(int(rng.poisson(per_series))):
            length = int(rng.uniform(300.0 / step, 7200.0 / step)) + 1
            first = int(rng.integers(n))
            values[rows_of[service], first : first + length] = np.nan
    return SeriesMatrix(ts=matrix.ts, series=matrix.series, values=values)


def as_recorded(incidents: list[Incident], hardness: Hardness, seed: int) -> list[Incident]:
    """The incidents as an incident tracker would hold them: some never recorded, some with a
    start recorded up to `late_max_h` hours late."""
    if hardness.late_share <= 0 and hardness.unrecorded_share <= 0:
        return incidents
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x1A7E])
    out = []
    for incident in incidents:
        draw, late = rng.random(2)
        if draw < hardness.unrecorded_share:
            continue
        if late < hardness.late_share:
            delay = float(rng.uniform(0.25, hardness.late_max_h)) * 3600.0
            start = incident.start + delay
            incident = replace(incident, start=start, end=max(incident.end, start))
        out.append(incident)
    return out
