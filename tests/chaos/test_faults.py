"""Each fault moves the metrics it should, only where the topology carries it, and recovers."""

from __future__ import annotations

import numpy as np
import pytest

from failcast.chaos import (
    Fault,
    FaultError,
    FaultKind,
    IncidentType,
    SeriesMatrix,
    build_fleet,
    simulate,
)
from failcast.chaos.faults import check_fault, incidents_for
from failcast.chaos.kinds import ACCURACY_DROP_AT_HIT

T0 = 1_750_000_000.0  # a Sunday afternoon in June 2025 (UTC)
FLEET = build_fleet()
HOUR = 3600.0


def run(faults: list[Fault], hours: float = 1.0, step: float = 10.0) -> SeriesMatrix:
    ts = T0 + np.arange(0.0, hours * HOUR, step)
    return simulate(FLEET, ts, faults, seed=5)


def phases(m: SeriesMatrix, fault: Fault) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    before = m.ts < fault.start
    during = (m.ts >= fault.hit) & (m.ts < fault.end)
    after = m.ts >= fault.end
    return before, during, after


def sudden(kind: FaultKind, target: str, intensity: float = 1.0) -> Fault:
    return Fault(kind, target, start=T0 + 1200, duration_s=1200, intensity=intensity)


def test_cpu_spike_adds_thirty_points_and_slows_the_service() -> None:
    fault = sudden(FaultKind.cpu_spike, "auth")
    base, hit = run([]), run([fault])
    before, during, after = phases(hit, fault)
    cpu = hit.get("auth", "cpu_pct") - base.get("auth", "cpu_pct")
    assert np.allclose(cpu[during], 30.0)
    assert np.all(cpu[before] == 0) and np.all(cpu[after] == 0)
    slower = hit.get("auth", "latency_p50_ms")[during] / base.get("auth", "latency_p50_ms")[during]
    assert np.all(slower > 1.1)
    assert np.array_equal(hit.values[:, after], base.values[:, after])


def test_memory_leak_adds_forty_points_after_its_ramp() -> None:
    fault = sudden(FaultKind.memory_leak, "user")
    base, hit = run([]), run([fault])
    _, during, after = phases(hit, fault)
    extra = hit.get("user", "memory_pct") - base.get("user", "memory_pct")
    ramped = during & (hit.ts >= fault.hit + 60)
    assert np.allclose(extra[ramped], 40.0)
    assert extra[during][0] == 0.0 and 0 < extra[during][1] < 40.0
    assert np.all(extra[after] == 0)


def test_network_latency_reaches_callers_by_their_traffic_share() -> None:
    fault = sudden(FaultKind.network_latency, "user")
    base, hit = run([]), run([fault])
    _, during, after = phases(hit, fault)
    own = hit.get("user", "latency_p50_ms") - base.get("user", "latency_p50_ms")
    gateway = hit.get("api-gateway", "latency_p50_ms") - base.get("api-gateway", "latency_p50_ms")
    assert np.allclose(own[during], 1000.0)
    # The gateway sends 45 % of its requests to `user` (less the few that fail fast).
    assert np.allclose(gateway[during], 450.0, rtol=0.01)
    for unaffected in ("database", "cache", "auth", "checkout"):
        assert np.array_equal(
            hit.get(unaffected, "latency_p50_ms"), base.get(unaffected, "latency_p50_ms")
        )
    assert np.all(own[after] == 0)


def test_service_kill_takes_the_service_down_then_it_recovers() -> None:
    fault = sudden(FaultKind.service_kill, "checkout")
    base, hit = run([]), run([fault])
    before, during, after = phases(hit, fault)
    assert np.all(hit.get("checkout", "availability")[during] == 0.0)
    assert np.all(hit.get("checkout", "throughput_rps")[during] == 0.0)
    assert np.all(hit.get("checkout", "error_rate")[during] == 1.0)
    assert np.all(hit.get("checkout", "availability")[before | after] > 0.98)
    gateway_errors = hit.get("api-gateway", "error_rate")[during]
    assert np.all(gateway_errors > 0.25)  # a quarter of its traffic goes to checkout
    assert np.array_equal(hit.values[:, after], base.values[:, after])


def test_cascade_reaches_dependents_only_along_the_topology() -> None:
    fault = sudden(FaultKind.cascade, "database")
    base, hit = run([]), run([fault])
    _, during, _ = phases(hit, fault)
    dependents = FLEET.topology.upstream("database")
    for service in FLEET.names:
        changed = not np.array_equal(
            np.vstack([hit.get(service, m) for m in FLEET[service].metrics]),
            np.vstack([base.get(service, m) for m in FLEET[service].metrics]),
        )
        assert changed == (service in dependents or service == "database"), service
    for service in ("auth", "user", "checkout", "api-gateway"):
        assert np.all(hit.get(service, "error_rate")[during] > 0.3), service
        settled = during & (hit.ts >= fault.hit + 60 * dependents[service])
        assert np.all(hit.get(service, "saturation")[settled] == 1.0), service
    settled = during & (hit.ts >= fault.hit + 60)
    assert np.all(hit.get("orders-etl", "run_success_rate")[settled] == 0.0)


def test_cascade_incidents_name_the_database_as_root_cause() -> None:
    fault = sudden(FaultKind.cascade, "database")
    incidents = {i.service: i for i in incidents_for(fault, FLEET)}
    assert set(incidents) == {"database", "auth", "user", "checkout", "orders-etl", "api-gateway"}
    assert {i.root_cause_service for i in incidents.values()} == {"database"}
    assert {i.type for i in incidents.values()} == {IncidentType.cascade}
    assert incidents["database"].start == fault.hit
    assert incidents["auth"].start == fault.hit + 60
    assert incidents["api-gateway"].start == fault.hit + 120
    assert all(i.end == fault.end for i in incidents.values())


def slow(kind: FaultKind, target: str, lead_h: float, duration_h: float) -> Fault:
    return Fault(kind, target, T0 + 2 * HOUR, duration_h * HOUR, lead_s=lead_h * HOUR)


def test_memory_leak_builds_for_days_then_ooms_and_restarts() -> None:
    fault = slow(FaultKind.memory_leak_oom, "user", lead_h=48, duration_h=0.1)
    m = run([fault], hours=54, step=60)
    memory = m.get("user", "memory_pct")
    early = (m.ts >= fault.start) & (m.ts < fault.start + 6 * HOUR)
    late = (m.ts >= fault.hit - 6 * HOUR) & (m.ts < fault.hit)
    assert memory[late].mean() > memory[early].mean() + 30
    assert memory[(m.ts >= fault.hit - 120) & (m.ts < fault.hit)].min() > 97
    _, during, after = phases(m, fault)
    assert np.all(m.get("user", "availability")[during] == 0.0)
    assert memory[after].max() < 60
    [incident] = incidents_for(fault, FLEET)
    assert incident.type is IncidentType.resource_exhaustion
    assert (incident.start, incident.precursor_start) == (fault.hit, fault.start)


def test_disk_fills_up_then_writes_fail() -> None:
    fault = slow(FaultKind.disk_fill, "database", lead_h=30, duration_h=0.5)
    m = run([fault], hours=34, step=60)
    disk = m.get("database", "disk_pct")
    _, during, after = phases(m, fault)
    assert disk[m.ts < fault.start].max() < 60
    assert np.all(disk[during] == 100.0)
    assert np.all(m.get("database", "error_rate")[during] > 0.5)
    assert disk[after].max() < 60


def test_drift_leads_accuracy_which_is_seen_after_the_label_delay() -> None:
    fault = slow(FaultKind.data_drift, "fraud-model", lead_h=96, duration_h=24)
    delay = FLEET["fraud-model"].label_delay_s
    m = run([fault], hours=130, step=300)
    drift = m.get("fraud-model", "feature_drift")
    accuracy = m.get("fraud-model", "accuracy")
    healthy = FLEET["fraud-model"].accuracy
    halfway = (m.ts >= fault.start + 47 * HOUR) & (m.ts < fault.start + 49 * HOUR)
    assert drift[halfway].mean() > 0.15  # drift is plain halfway through the precursor
    assert accuracy[halfway].mean() > healthy - 0.04  # while accuracy has barely moved
    seen = (m.ts >= fault.hit + delay + HOUR) & (m.ts < fault.end)
    assert accuracy[seen].max() < healthy - ACCURACY_DROP_AT_HIT + 0.02
    [incident] = incidents_for(fault, FLEET)
    assert incident.type is IncidentType.accuracy_decay and incident.start == fault.hit


def test_cost_creeps_to_the_overload_line() -> None:
    fault = slow(FaultKind.cost_creep, "checkout", lead_h=100, duration_h=12)
    base, m = run([], hours=110, step=600), run([fault], hours=110, step=600)
    ratio = m.get("checkout", "cost_usd_per_hour") / base.get("checkout", "cost_usd_per_hour")
    assert ratio[m.ts < fault.start + 10 * HOUR].max() < 1.05
    assert ratio[(m.ts >= fault.hit) & (m.ts < fault.end)].min() > 1.5
    assert incidents_for(fault, FLEET)[0].type is IncidentType.cost_overload


def test_pipeline_degrades_then_fails_and_goes_stale() -> None:
    fault = slow(FaultKind.pipeline_degradation, "orders-etl", lead_h=24, duration_h=3)
    m = run([fault], hours=30, step=60)
    success = m.get("orders-etl", "run_success_rate")
    fresh = m.get("orders-etl", "freshness_lag_min")
    _, during, after = phases(m, fault)
    assert success[m.ts < fault.start].mean() > 0.95
    assert success[(m.ts >= fault.hit - 4 * HOUR) & (m.ts < fault.hit)].mean() < 0.8
    assert np.all(success[during] == 0.0)
    assert fresh[during][-1] > 170  # three hours without a good run
    assert fresh[after].max() < 30
    assert incidents_for(fault, FLEET)[0].type is IncidentType.pipeline_failure


def test_connection_pool_fills_then_exhausts() -> None:
    fault = slow(FaultKind.connection_pool_exhaustion, "auth", lead_h=12, duration_h=0.25)
    m = run([fault], hours=15, step=60)
    saturation = m.get("auth", "saturation")
    _, during, after = phases(m, fault)
    assert saturation[(m.ts >= fault.hit - HOUR) & (m.ts < fault.hit)].min() > 0.9
    assert np.all(saturation[during] == 1.0)
    assert np.all(m.get("auth", "error_rate")[during] > 0.4)
    assert saturation[after].max() < 0.8


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        (FaultKind.cpu_spike, "fraud-model"),
        (FaultKind.data_drift, "auth"),
        (FaultKind.disk_fill, "auth"),
        (FaultKind.cascade, "api-gateway"),
        (FaultKind.service_kill, "nope"),
    ],
)
def test_faults_that_cannot_happen_are_refused(kind: FaultKind, target: str) -> None:
    with pytest.raises(FaultError):
        check_fault(Fault(kind, target, T0, 60), FLEET)
