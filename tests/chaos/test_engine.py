from __future__ import annotations

import numpy as np
import pytest

from failcast.chaos import Fault, FaultError, FaultKind, Fleet, IncidentType, simulate

T0 = 1_750_000_000.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def values(fleet: Fleet, now: float | None = None) -> dict[tuple[str, str], float]:
    return {(s.service, s.metric): s.value for s in fleet.tick(now)}


def test_tick_gives_every_series_once_at_the_wall_time() -> None:
    clock = FakeClock()
    fleet = Fleet(12, seed=1, clock=clock)
    samples = fleet.tick()
    assert len(samples) == len(fleet.spec.series)
    assert {(s.service, s.metric) for s in samples} == set(fleet.spec.series)
    assert {s.ts for s in samples} == {T0}


def test_a_tick_equals_the_same_instant_of_generated_history() -> None:
    fleet = Fleet(seed=4, clock=FakeClock())
    live = values(fleet, T0 + 90)
    ts = T0 + 90 - 3600 + np.arange(0, 3601, 30.0)
    history = simulate(fleet.spec, ts, [], seed=4).last()
    for key in fleet.spec.series:
        if fleet.spec[key[0]].kind == "microservice":
            assert live[key] == pytest.approx(history[key], rel=1e-12), key


def test_injected_fault_acts_then_recovers_automatically() -> None:
    clock = FakeClock()
    fleet = Fleet(seed=2, clock=clock)
    healthy = values(fleet)
    fault = fleet.start_fault("service_kill", "cache", duration_s=300)
    assert fault.id and fleet.active_faults() == [fault]
    clock.now += 60
    down = values(fleet)
    assert down[("cache", "availability")] == 0.0
    assert down[("auth", "error_rate")] > healthy[("auth", "error_rate")] + 0.5
    clock.now += 300
    assert fleet.active_faults() == []
    assert values(fleet)[("cache", "availability")] > 0.99
    [incident] = fleet.incidents()
    assert (incident.service, incident.start, incident.end) == ("cache", T0, T0 + 300)


def test_speed_unfolds_a_three_day_leak_in_minutes() -> None:
    clock = FakeClock()
    fleet = Fleet(seed=3, clock=clock, speed=1440.0)  # a day a minute
    fleet.start_fault(FaultKind.memory_leak_oom, "user", duration_s=600, lead_s=72 * 3600)
    start = values(fleet)[("user", "memory_pct")]
    clock.now += 170  # 68 hours of fleet time
    assert values(fleet)[("user", "memory_pct")] > start + 35
    assert fleet.incidents() == []
    clock.now += 10.2  # just past the 72nd hour
    assert values(fleet)[("user", "availability")] == 0.0
    [incident] = fleet.incidents()
    assert incident.type is IncidentType.resource_exhaustion
    assert incident.start == pytest.approx(T0 + 180)  # on the wall clock, like the samples
    assert incident.precursor_start == pytest.approx(T0)


def test_set_speed_keeps_the_fleet_clock_continuous() -> None:
    clock = FakeClock()
    fleet = Fleet(clock=clock, speed=10.0)
    clock.now += 10
    assert fleet.sim_time() == T0 + 100
    fleet.set_speed(1.0)
    clock.now += 10
    assert fleet.sim_time() == T0 + 110
    assert fleet.wall_time(T0 + 110) == clock.now


def test_stop_ends_faults_early_and_reset_forgets_them() -> None:
    clock = FakeClock()
    fleet = Fleet(seed=2, clock=clock)
    fleet.start_fault("cpu_spike", "auth", duration_s=3600)
    fleet.start_fault("network_latency", "user", duration_s=3600)
    clock.now += 120
    stopped = fleet.stop("auth")
    assert [f.target for f in stopped] == ["auth"]
    assert [f.target for f in fleet.active_faults()] == ["user"]
    ended = {i.service: i.end for i in fleet.incidents()}
    assert ended["auth"] == T0 + 120
    fleet.reset()
    assert fleet.active_faults() == [] and fleet.incidents() == []


def test_organic_failures_happen_in_the_live_fleet_when_enabled() -> None:
    clock = FakeClock()
    quiet = Fleet(10, seed=9, clock=clock)
    busy = Fleet(10, seed=9, clock=clock, organic=True, organic_rate_per_day=1.0)
    clock.now += 5 * 86400
    assert quiet.incidents() == []
    found = busy.incidents()
    assert found and all(T0 <= i.start <= clock.now for i in found)


def test_bad_faults_are_refused() -> None:
    fleet = Fleet(clock=FakeClock())
    with pytest.raises(FaultError):
        fleet.inject(Fault(FaultKind.data_drift, "database", T0, 60))
    with pytest.raises(ValueError):
        Fleet(speed=0)
