"""Faults (sudden chaos and slow organic failures) and the incidents they leave as ground truth.

A fault has a precursor of `lead_s` seconds (zero for sudden chaos) that ends when the failure
hits; the failure then lasts `duration_s` seconds and recovers on its own. The incident it
records spans exactly the failure, never the precursor, so a predictor that fires during the
precursor is early rather than right on time.

| fault kind                 | applies to                | incident type       |
|----------------------------|---------------------------|---------------------|
| cpu_spike                  | microservice              | resource_exhaustion |
| memory_leak                | microservice              | resource_exhaustion |
| network_latency            | microservice, ml_model    | latency_spike       |
| service_kill               | any                       | resource_exhaustion (a) |
| cascade                    | a service with dependents | cascade (b)         |
| memory_leak_oom            | microservice              | resource_exhaustion |
| disk_fill                  | microservice with disk    | resource_exhaustion |
| data_drift                 | ml_model                  | accuracy_decay      |
| cost_creep                 | microservice, ml_model    | cost_overload       |
| pipeline_degradation       | data_pipeline             | pipeline_failure    |
| connection_pool_exhaustion | microservice              | resource_exhaustion |

(a) pipeline_failure when the target is a data pipeline. (b) One incident for the target and
one for every service that depends on it, directly or not, each with the target as root cause.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np

from failcast.chaos.fleet import FleetSpec, Kind, ServiceSpec

# Seconds a cascade takes to reach each further hop of callers (pools fill, retries pile up).
CASCADE_HOP_S = 60.0


class FaultKind(StrEnum):
    cpu_spike = "cpu_spike"
    memory_leak = "memory_leak"
    network_latency = "network_latency"
    service_kill = "service_kill"
    cascade = "cascade"
    memory_leak_oom = "memory_leak_oom"
    disk_fill = "disk_fill"
    data_drift = "data_drift"
    cost_creep = "cost_creep"
    pipeline_degradation = "pipeline_degradation"
    connection_pool_exhaustion = "connection_pool_exhaustion"


SUDDEN_KINDS: frozenset[FaultKind] = frozenset(
    {
        FaultKind.cpu_spike,
        FaultKind.memory_leak,
        FaultKind.network_latency,
        FaultKind.service_kill,
        FaultKind.cascade,
    }
)
SLOW_KINDS: frozenset[FaultKind] = frozenset(set(FaultKind) - SUDDEN_KINDS)


class IncidentType(StrEnum):
    latency_spike = "latency_spike"
    accuracy_decay = "accuracy_decay"
    cost_overload = "cost_overload"
    pipeline_failure = "pipeline_failure"
    resource_exhaustion = "resource_exhaustion"
    cascade = "cascade"


class FaultError(ValueError):
    """A fault that names an unknown service or does not apply to its target."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One failure of `target`: a precursor of `lead_s`, then `duration_s` of failure."""

    kind: FaultKind
    target: str
    start: float
    duration_s: float
    intensity: float = 1.0
    lead_s: float = 0.0
    id: str = ""
    organic: bool = False

    @property
    def hit(self) -> float:
        """When the failure itself begins (the end of the precursor)."""
        return self.start + self.lead_s

    @property
    def end(self) -> float:
        return self.start + self.lead_s + self.duration_s

    def active(self, t: float) -> bool:
        """Whether the fault affects the fleet at `t`, precursor included."""
        return self.start <= t < self.end

    def rescaled(self, origin_from: float, origin_to: float, factor: float) -> Fault:
        """The same fault on another clock: `t -> origin_to + (t - origin_from) * factor`."""
        return replace(
            self,
            start=origin_to + (self.start - origin_from) * factor,
            duration_s=self.duration_s * factor,
            lead_s=self.lead_s * factor,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = str(self.kind)
        data["hit"], data["end"] = self.hit, self.end
        return data


@dataclass(frozen=True, slots=True)
class Incident:
    """Ground truth: `service` failed from `start` to `end` because of `root_cause_service`."""

    service: str
    type: IncidentType
    start: float
    end: float
    root_cause_service: str
    fault: FaultKind
    fault_id: str = ""
    precursor_start: float | None = None
    source: str = "simulator"

    def to_api(self) -> dict[str, Any]:
        """The body item of `POST /api/v1/incidents`."""
        return {
            "service": self.service,
            "type": str(self.type),
            "start": self.start,
            "end": self.end,
            "root_cause_service": self.root_cause_service,
            "source": self.source,
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"], data["fault"] = str(self.type), str(self.fault)
        return data

    def shifted(self, convert: Callable[[float], float]) -> Incident:
        precursor = None if self.precursor_start is None else convert(self.precursor_start)
        return replace(
            self, start=convert(self.start), end=convert(self.end), precursor_start=precursor
        )


_APPLIES: dict[FaultKind, frozenset[Kind]] = {
    FaultKind.cpu_spike: frozenset({Kind.microservice}),
    FaultKind.memory_leak: frozenset({Kind.microservice}),
    FaultKind.network_latency: frozenset({Kind.microservice, Kind.ml_model}),
    FaultKind.service_kill: frozenset(Kind),
    FaultKind.cascade: frozenset(Kind),
    FaultKind.memory_leak_oom: frozenset({Kind.microservice}),
    FaultKind.disk_fill: frozenset({Kind.microservice}),
    FaultKind.data_drift: frozenset({Kind.ml_model}),
    FaultKind.cost_creep: frozenset({Kind.microservice, Kind.ml_model}),
    FaultKind.pipeline_degradation: frozenset({Kind.data_pipeline}),
    FaultKind.connection_pool_exhaustion: frozenset({Kind.microservice}),
}

_INCIDENT_TYPE: dict[FaultKind, IncidentType] = {
    FaultKind.cpu_spike: IncidentType.resource_exhaustion,
    FaultKind.memory_leak: IncidentType.resource_exhaustion,
    FaultKind.network_latency: IncidentType.latency_spike,
    FaultKind.service_kill: IncidentType.resource_exhaustion,
    FaultKind.cascade: IncidentType.cascade,
    FaultKind.memory_leak_oom: IncidentType.resource_exhaustion,
    FaultKind.disk_fill: IncidentType.resource_exhaustion,
    FaultKind.data_drift: IncidentType.accuracy_decay,
    FaultKind.cost_creep: IncidentType.cost_overload,
    FaultKind.pipeline_degradation: IncidentType.pipeline_failure,
    FaultKind.connection_pool_exhaustion: IncidentType.resource_exhaustion,
}


def applicable(kind: FaultKind, spec: ServiceSpec, fleet: FleetSpec) -> bool:
    """Whether a fault of `kind` can happen to the service `spec`."""
    if spec.kind not in _APPLIES[kind]:
        return False
    if kind is FaultKind.disk_fill:
        return spec.disk_base is not None
    if kind is FaultKind.cascade:
        return bool(fleet.topology.dependents(spec.name))
    return True


def check_fault(fault: Fault, fleet: FleetSpec) -> None:
    """Raise `FaultError` unless `fault` can happen in `fleet`."""
    if fault.target not in fleet.names:
        raise FaultError(f"unknown service {fault.target!r}; the fleet has {list(fleet.names)}")
    if not applicable(fault.kind, fleet[fault.target], fleet):
        raise FaultError(
            f"{fault.kind} does not apply to {fault.target} ({fleet[fault.target].kind})"
        )
    if fault.duration_s <= 0 or fault.lead_s < 0:
        raise FaultError("a fault needs a positive duration and a non-negative lead")
    if not 0 < fault.intensity <= 5:
        raise FaultError("intensity must be in (0, 5]")


def incident_type(kind: FaultKind, spec: ServiceSpec) -> IncidentType:
    if kind is FaultKind.service_kill and spec.kind is Kind.data_pipeline:
        return IncidentType.pipeline_failure
    return _INCIDENT_TYPE[kind]


def incidents_for(fault: Fault, fleet: FleetSpec) -> list[Incident]:
    """The incidents `fault` causes: its target, and for a cascade every dependent too."""
    precursor = fault.start if fault.lead_s > 0 else None
    first = Incident(
        service=fault.target,
        type=incident_type(fault.kind, fleet[fault.target]),
        start=fault.hit,
        end=fault.end,
        root_cause_service=fault.target,
        fault=fault.kind,
        fault_id=fault.id,
        precursor_start=precursor,
    )
    if fault.kind is not FaultKind.cascade:
        return [first]
    reached = fleet.topology.upstream(fault.target)
    others = [
        Incident(
            service=name,
            type=IncidentType.cascade,
            start=min(fault.hit + hops * CASCADE_HOP_S, fault.end),
            end=fault.end,
            root_cause_service=fault.target,
            fault=fault.kind,
            fault_id=fault.id,
        )
        for name, hops in sorted(reached.items(), key=lambda item: (item[1], item[0]))
        if fault.hit + hops * CASCADE_HOP_S < fault.end
    ]
    return [first, *others]


# Precursor and failure lengths, in hours, of organic failures: (lead_min, lead_max,
# failure_min, failure_max). A leak grows for half a day to four days before the OOM kill, a
# model drifts for days before its accuracy breaks, and so on.
ORGANIC_PROFILES: dict[FaultKind, tuple[float, float, float, float]] = {
    FaultKind.memory_leak_oom: (12, 96, 0.05, 0.17),
    FaultKind.disk_fill: (24, 120, 0.33, 1.5),
    FaultKind.data_drift: (48, 168, 6, 24),
    FaultKind.cost_creep: (72, 240, 12, 48),
    FaultKind.pipeline_degradation: (6, 72, 1, 6),
    FaultKind.connection_pool_exhaustion: (4, 36, 0.08, 0.33),
    FaultKind.network_latency: (0, 0, 0.08, 0.5),
}
# How often each kind is chosen among those that apply to a service: cost creep is common in
# practice but rarely the failure that pages someone, so it is drawn less often.
ORGANIC_WEIGHTS: dict[FaultKind, float] = {
    FaultKind.memory_leak_oom: 3.0,
    FaultKind.disk_fill: 3.0,
    FaultKind.data_drift: 4.0,
    FaultKind.cost_creep: 1.0,
    FaultKind.pipeline_degradation: 4.0,
    FaultKind.connection_pool_exhaustion: 2.0,
    FaultKind.network_latency: 2.0,
}
ORGANIC_RATE_PER_DAY = 1 / 12  # per service: a failure every twelve days on average


def organic_faults(
    fleet: FleetSpec,
    start: float,
    end: float,
    seed: int,
    rate_per_day: float = ORGANIC_RATE_PER_DAY,
) -> list[Fault]:
    """Random failures whose failure phase begins in [start, end), at most one at a time per
    service. Precursors may begin before `start`: the fleet was already drifting."""
    faults: list[Fault] = []
    if rate_per_day <= 0 or end <= start:
        return faults
    for position, spec in enumerate(fleet):
        kinds = [k for k in ORGANIC_PROFILES if applicable(k, spec, fleet)]
        if not kinds:
            continue
        weights = np.array([ORGANIC_WEIGHTS[k] for k in kinds])
        weights /= weights.sum()
        day = (int(start) // 86400) & 0xFFFFFFFF
        rng = np.random.default_rng([seed & 0xFFFFFFFF, position, day, 0x0F417])
        repaired = -float("inf")
        hit = start
        while True:
            kind = kinds[int(rng.choice(len(kinds), p=weights))]
            lead_lo, lead_hi, dur_lo, dur_hi = ORGANIC_PROFILES[kind]
            lead = float(rng.uniform(lead_lo, lead_hi)) * 3600.0
            duration = float(rng.uniform(dur_lo, dur_hi)) * 3600.0
            intensity = float(rng.uniform(0.5, 1.0)) if kind in SUDDEN_KINDS else 1.0
            # The next precursor only begins once the previous failure has been repaired.
            hit = max(hit + float(rng.exponential(86400.0 / rate_per_day)), repaired + lead)
            if hit >= end:
                break
            faults.append(
                Fault(
                    kind=kind,
                    target=spec.name,
                    start=hit - lead,
                    duration_s=duration,
                    intensity=intensity,
                    lead_s=lead,
                    id=f"organic-{spec.name}-{int(hit)}",
                    organic=True,
                )
            )
            repaired = hit + duration
            hit = repaired
    return faults
