from __future__ import annotations

import pytest
from pydantic import ValidationError

from failcast.chaos import Experiment, FaultError, Fleet, Probe, evaluate, run_offline

T0 = 1_750_000_000.0
P99 = ("api-gateway", "latency_p99_ms")
AVAILABILITY = ("checkout", "availability")


def experiment(**overrides: object) -> Experiment:
    spec: dict[str, object] = {
        "title": "the gateway survives losing the cache",
        "steady-state-hypothesis": {
            "title": "gateway is fast and checkout is up",
            "probes": ["api-gateway latency_p99_ms < 300", "checkout availability >= 0.99"],
        },
        "method": [{"kind": "service_kill", "target": "cache", "duration_s": 300}],
        "rollbacks": [{"action": "stop_faults", "target": "cache"}],
    }
    return Experiment.model_validate(spec | overrides)


def test_probe_text_is_parsed_and_printed_back() -> None:
    probe = Probe.parse("api-gateway latency_p99_ms < 300")
    assert (probe.service, probe.metric, probe.op, probe.threshold) == (*P99, "<", 300.0)
    assert probe.aggregate == "all"
    assert str(probe) == "api-gateway latency_p99_ms < 300"
    p95 = Probe.parse("p95(fraud-model accuracy) >= 0.9")
    assert (p95.aggregate, p95.op, p95.threshold) == ("p95", ">=", 0.9)
    assert str(p95) == "p95(fraud-model accuracy) >= 0.9"


@pytest.mark.parametrize("text", ["latency < 300", "api-gateway latency_p99_ms ~ 3", "a b < x"])
def test_malformed_probes_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        Probe.parse(text)


def test_all_probe_reports_the_worst_observation() -> None:
    probe = Probe.parse("api-gateway latency_p99_ms < 300")
    result = probe.check([120.0, 310.0, 150.0, 305.0])
    assert result["tolerance_met"] is False
    assert (result["value"], result["violations"], result["observations"]) == (310.0, 2, 4)
    mean = Probe.parse("mean(api-gateway latency_p99_ms) < 300").check([120.0, 310.0, 150.0])
    assert mean["tolerance_met"] is True and mean["value"] == pytest.approx(193.3333, rel=1e-4)


def test_verdict_held_when_every_phase_meets_the_hypothesis() -> None:
    calm = {P99: [150.0, 170.0], AVAILABILITY: [0.999, 0.998]}
    journal = evaluate(experiment(), calm, calm, calm, started_at=10.0, ended_at=70.0)
    assert (journal["verdict"], journal["status"], journal["deviated"]) == (
        "held",
        "completed",
        False,
    )
    assert journal["duration"] == 60.0
    probes = journal["steady_states"]["during"]["probes"]
    assert [p["probe"] for p in probes] == [
        "api-gateway latency_p99_ms < 300",
        "checkout availability >= 0.99",
    ]
    assert journal["experiment"]["steady-state-hypothesis"]["probes"][0]["service"] == "api-gateway"


def test_verdict_deviated_when_the_method_breaks_a_probe() -> None:
    calm = {P99: [150.0, 170.0], AVAILABILITY: [0.999, 0.998]}
    hurt = {P99: [150.0, 480.0], AVAILABILITY: [0.999, 0.998]}
    journal = evaluate(experiment(), calm, hurt, calm)
    assert (journal["verdict"], journal["status"]) == ("deviated", "completed")
    during = {p["probe"]: p for p in journal["steady_states"]["during"]["probes"]}
    assert during["api-gateway latency_p99_ms < 300"]["tolerance_met"] is False
    assert during["checkout availability >= 0.99"]["tolerance_met"] is True
    assert journal["steady_states"]["after"]["steady_state_met"] is True


def test_an_unsteady_start_aborts_and_missing_data_deviates() -> None:
    calm = {P99: [150.0], AVAILABILITY: [0.999]}
    unsteady = evaluate(experiment(), {P99: [400.0], AVAILABILITY: [0.999]}, calm, calm)
    assert (unsteady["verdict"], unsteady["status"]) == ("deviated", "aborted")
    assert unsteady["steady_states"]["after"] is None
    blind = evaluate(experiment(), calm, calm, {P99: [150.0]})
    assert blind["verdict"] == "deviated"
    missing = blind["steady_states"]["after"]["probes"][1]
    assert missing["value"] is None and missing["reason"] == "no observations"


def test_run_offline_on_the_fleet_deviates_when_checkout_dies() -> None:
    exp = experiment(method=[{"kind": "service_kill", "target": "checkout", "duration_s": 300}])
    journal = run_offline(Fleet(seed=1, clock=lambda: T0), exp, T0)
    assert journal["verdict"] == "deviated"
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert journal["steady_states"]["after"]["steady_state_met"] is True
    assert journal["run"][0]["target"] == "checkout"


def test_run_offline_holds_for_a_mild_fault() -> None:
    exp = experiment(
        method=[{"kind": "cpu_spike", "target": "auth", "duration_s": 300, "intensity": 0.3}]
    )
    assert run_offline(Fleet(seed=1, clock=lambda: T0), exp, T0)["verdict"] == "held"


def test_experiments_naming_unknown_things_are_refused() -> None:
    fleet = Fleet(clock=lambda: T0)
    bad_target = experiment(
        method=[{"kind": "service_kill", "target": "mainframe", "duration_s": 60}]
    )
    with pytest.raises(FaultError):
        run_offline(fleet, bad_target, T0)
    bad_probe = experiment(**{"steady-state-hypothesis": {"probes": ["cache accuracy > 0.5"]}})
    with pytest.raises(FaultError):
        bad_probe.check(fleet.spec)
    with pytest.raises(ValidationError):
        experiment(method=[])
