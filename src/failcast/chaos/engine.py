"""The live fleet: samples on demand, chaos faults injected while it runs.

The fleet lives on its own clock, `sim = sim_origin + (wall - wall_origin) * speed`, so a demo at
`speed=1440` shows a day a minute and a 72-hour precursor unfolds in three minutes. Faults are
kept on the fleet's clock (at `speed=1`, and by default, that is the wall clock). Samples carry
the wall-clock time they were taken at, and incidents are converted to that same clock, so the
two line up in the store whatever the speed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from failcast.chaos.faults import (
    ORGANIC_PROFILES,
    ORGANIC_RATE_PER_DAY,
    Fault,
    FaultKind,
    Incident,
    check_fault,
    incidents_for,
    organic_faults,
)
from failcast.chaos.fleet import FleetSpec, Topology, build_fleet
from failcast.chaos.kinds import DAY_S
from failcast.chaos.signals import SeriesMatrix, simulate

Clock = Callable[[], float]

# Rolling quantities (label-delayed accuracy, pipeline staleness) need some past to be computed.
WINDOW_S = DAY_S
GRID_S = 300.0
_MAX_ORGANIC_S = max(lead + dur for _, lead, _, dur in ORGANIC_PROFILES.values()) * 3600.0


class Sample(NamedTuple):
    """One metric value of one service at wall time `ts` (Unix seconds)."""

    service: str
    metric: str
    ts: float
    value: float


class Fleet:
    """A running simulated fleet with an injectable clock and a speed factor."""

    def __init__(
        self,
        services: int | FleetSpec | None = None,
        *,
        seed: int = 0,
        speed: float = 1.0,
        clock: Clock = time.time,
        organic: bool = False,
        organic_rate_per_day: float = ORGANIC_RATE_PER_DAY,
        sim_start: float | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.spec = services if isinstance(services, FleetSpec) else build_fleet(services)
        self.seed = seed
        self._clock = clock
        self._lock = threading.Lock()
        self._wall_origin = clock()
        self._sim_origin = self._wall_origin if sim_start is None else sim_start
        self._born = self._sim_origin
        self._speed = speed
        self._organic_rate = organic_rate_per_day if organic else 0.0
        self._organic: dict[int, list[Fault]] = {}
        self._faults: list[Fault] = []
        self._count = 0

    @property
    def topology(self) -> Topology:
        return self.spec.topology

    @property
    def speed(self) -> float:
        return self._speed

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    def set_speed(self, speed: float, now: float | None = None) -> None:
        """Change the speed without a jump in the fleet's clock."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        with self._lock:
            wall = self._now(now)
            self._sim_origin = self.sim_time(wall)
            self._wall_origin = wall
            self._speed = speed

    def sim_time(self, now: float | None = None) -> float:
        """The fleet's clock at wall time `now`."""
        return self._sim_origin + (self._now(now) - self._wall_origin) * self._speed

    def wall_time(self, sim: float) -> float:
        """The wall time at which the fleet's clock shows `sim`."""
        return self._wall_origin + (sim - self._sim_origin) / self._speed

    def inject(self, fault: Fault) -> Fault:
        """Add `fault` (times on the fleet's clock); returns it with its id."""
        check_fault(fault, self.spec)
        with self._lock:
            self._count += 1
            stored = fault if fault.id else replace(fault, id=f"fault-{self._count}")
            self._faults.append(stored)
        return stored

    def start_fault(
        self,
        kind: FaultKind | str,
        target: str,
        duration_s: float,
        *,
        intensity: float = 1.0,
        lead_s: float = 0.0,
        now: float | None = None,
    ) -> Fault:
        """Inject a fault of `kind` on `target` starting at the fleet's current time."""
        fault = Fault(
            kind=FaultKind(kind),
            target=target,
            start=self.sim_time(now),
            duration_s=duration_s,
            intensity=intensity,
            lead_s=lead_s,
        )
        return self.inject(fault)

    def stop(self, target: str | None = None, now: float | None = None) -> list[Fault]:
        """End the injected faults (of `target`, or all) now; returns those that were active."""
        sim = self.sim_time(now)
        stopped: list[Fault] = []
        with self._lock:
            kept: list[Fault] = []
            for fault in self._faults:
                if (target is None or fault.target == target) and fault.active(sim):
                    stopped.append(fault)
                    if sim > fault.hit:
                        kept.append(replace(fault, duration_s=sim - fault.hit))
                    continue
                kept.append(fault)
            self._faults = kept
        return stopped

    def reset(self) -> None:
        """Forget every injected fault and its incidents; organic failures stay."""
        with self._lock:
            self._faults = []

    def injected(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def active_faults(self, now: float | None = None) -> list[Fault]:
        """Faults affecting the fleet at `now`, precursors included, organic ones too."""
        sim = self.sim_time(now)
        return [f for f in self._all_faults(sim, sim) if f.active(sim)]

    def incidents(self, now: float | None = None) -> list[Incident]:
        """Incidents that have begun by `now`, on the wall clock (end is the planned end)."""
        sim = self.sim_time(now)
        found = [
            incident
            for fault in self._all_faults(self._born, sim)
            for incident in incidents_for(fault, self.spec)
            if incident.start <= sim and (not fault.organic or incident.start >= self._born)
        ]
        found.sort(key=lambda i: (i.start, i.service))
        return [incident.shifted(self.wall_time) for incident in found]

    def _organic_faults(self, first: float, last: float) -> list[Fault]:
        if self._organic_rate <= 0:
            return []
        faults: list[Fault] = []
        for block in range(math.floor(first / DAY_S), math.floor(last / DAY_S) + 1):
            if block not in self._organic:
                self._organic[block] = organic_faults(
                    self.spec, block * DAY_S, (block + 1) * DAY_S, self.seed, self._organic_rate
                )
            faults += self._organic[block]
        return faults

    def _all_faults(self, first: float, last: float) -> list[Fault]:
        """Injected faults and organic ones that can touch [first, last] on the fleet's clock."""
        organic = self._organic_faults(first - _MAX_ORGANIC_S, last + _MAX_ORGANIC_S)
        with self._lock:
            injected = list(self._faults)
        return [f for f in (*injected, *organic) if f.end > first and f.start <= last]

    def window(self, now: float | None = None) -> SeriesMatrix:
        """Every metric over the trailing day on a five-minute grid, ending exactly at `now`."""
        sim = self.sim_time(now)
        last_grid = math.floor(sim / GRID_S) * GRID_S
        grid = last_grid - np.arange(int(WINDOW_S // GRID_S), -1, -1) * GRID_S
        ts = grid if last_grid == sim else np.append(grid, sim)
        faults = self._all_faults(float(ts[0]), sim)
        return simulate(self.spec, ts.astype(np.float64), faults, self.seed)

    def matrix(self, wall_ts: NDArray[np.float64]) -> SeriesMatrix:
        """Every metric at the given ascending wall times, on the fleet's clock at those times."""
        wall = np.asarray(wall_ts, dtype=np.float64)
        if wall.size == 0:
            return simulate(self.spec, wall, [], self.seed)
        sim = self._sim_origin + (wall - self._wall_origin) * self._speed
        matrix = simulate(
            self.spec, sim, self._all_faults(float(sim[0]), float(sim[-1])), self.seed
        )
        return SeriesMatrix(ts=wall, series=matrix.series, values=matrix.values)

    def tick(self, now: float | None = None) -> list[Sample]:
        """One sample of every metric of every service, stamped with the wall time `now`."""
        wall = self._now(now)
        matrix = self.window(wall)
        values = matrix.values[:, -1]
        return [
            Sample(service, metric, wall, float(value))
            for (service, metric), value in zip(matrix.series, values, strict=True)
        ]
