"""Chaos experiments in the manner of Chaos Toolkit: a steady-state hypothesis, a method of
faults, rollbacks, and a journal that says whether the hypothesis held.

The hypothesis is checked before the method (if it fails there the run is aborted: the system
was not steady to begin with), while the faults act, and after recovery. The verdict is "held"
only when every checked phase meets every probe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from failcast.chaos.engine import Fleet
from failcast.chaos.faults import Fault, FaultError, FaultKind, check_fault
from failcast.chaos.fleet import FleetSpec

Comparison = Literal["<", "<=", ">", ">=", "==", "!="]
Aggregate = Literal["all", "mean", "max", "min", "last", "p50", "p95", "p99"]
Observations = Mapping[tuple[str, str], Sequence[float]]
PHASES = ("before", "during", "after")

_PROBE = re.compile(
    r"^\s*(?:(?P<agg>all|mean|max|min|last|p50|p95|p99)\s*\(\s*)?"
    r"(?P<service>[A-Za-z0-9][A-Za-z0-9_.\-]*)\s+(?P<metric>[A-Za-z_:][A-Za-z0-9_:]*)\s*\)?\s*"
    r"(?P<op><=|>=|==|!=|<|>)\s*(?P<threshold>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
_COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


class Probe(BaseModel):
    """`service metric op threshold`, e.g. `api-gateway latency_p99_ms < 300`.

    With the default aggregate `all` every observation must pass and the reported value is the
    worst one; `mean`, `p95` and the like compare one summary instead. Text such as
    `p95(api-gateway latency_p99_ms) < 300` is accepted wherever a probe is expected.
    """

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    op: Comparison
    threshold: float
    aggregate: Aggregate = "all"

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        match = _PROBE.match(value)
        if match is None:
            raise ValueError(
                f"not a probe: {value!r} (expected e.g. 'api-gateway latency_p99_ms < 300')"
            )
        parts = match.groupdict()
        return {
            "service": parts["service"],
            "metric": parts["metric"],
            "op": parts["op"],
            "threshold": float(parts["threshold"]),
            "aggregate": parts["agg"] or "all",
        }

    @classmethod
    def parse(cls, text: str) -> Probe:
        return cls.model_validate(text)

    def __str__(self) -> str:
        subject = f"{self.service} {self.metric}"
        if self.aggregate != "all":
            subject = f"{self.aggregate}({subject})"
        return f"{subject} {self.op} {self.threshold:g}"

    def check(self, values: Sequence[float] | None) -> dict[str, Any]:
        """The probe's result over one phase's observations."""
        data = np.asarray(values if values is not None else [], dtype=np.float64)
        data = data[np.isfinite(data)]
        result: dict[str, Any] = {
            "probe": str(self),
            "service": self.service,
            "metric": self.metric,
            "aggregate": self.aggregate,
            "observations": int(data.size),
        }
        if data.size == 0:
            return result | {"value": None, "tolerance_met": False, "reason": "no observations"}
        compare = _COMPARE[self.op]
        if self.aggregate == "all":
            passed = compare(data, self.threshold)
            failing = data[~passed]
            if self.op in ("<", "<="):
                worst = data.max()
            elif self.op in (">", ">="):
                worst = data.min()
            else:
                worst = failing[0] if failing.size else data[0]
            return result | {
                "value": float(worst),
                "tolerance_met": bool(passed.all()),
                "violations": int(failing.size),
            }
        summary = _summarise(data, self.aggregate)
        return result | {"value": summary, "tolerance_met": bool(compare(summary, self.threshold))}


def _summarise(data: np.ndarray[Any, np.dtype[np.float64]], aggregate: str) -> float:
    if aggregate == "last":
        return float(data[-1])
    if aggregate.startswith("p"):
        return float(np.percentile(data, float(aggregate[1:])))
    if aggregate == "mean":
        return float(data.mean())
    return float(data.max() if aggregate == "max" else data.min())


class SteadyStateHypothesis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = "the fleet is healthy"
    probes: list[Probe] = Field(min_length=1)


class FaultAction(BaseModel):
    """One fault of the method, `delay_s` after the method starts (times in fleet seconds)."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    target: str = Field(min_length=1)
    duration_s: float = Field(gt=0)
    intensity: float = Field(default=1.0, gt=0, le=5)
    lead_s: float = Field(default=0.0, ge=0)
    delay_s: float = Field(default=0.0, ge=0)

    def fault(self, method_start: float) -> Fault:
        return Fault(
            kind=self.kind,
            target=self.target,
            start=method_start + self.delay_s,
            duration_s=self.duration_s,
            intensity=self.intensity,
            lead_s=self.lead_s,
        )


class Rollback(BaseModel):
    """Undo the method: stop the faults still running (of `target`, or all)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["stop_faults"] = "stop_faults"
    target: str | None = None


class Experiment(BaseModel):
    """A chaos experiment; accepts Chaos Toolkit's `steady-state-hypothesis` spelling too."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    title: str = Field(min_length=1)
    description: str = ""
    steady_state_hypothesis: SteadyStateHypothesis = Field(alias="steady-state-hypothesis")
    method: list[FaultAction] = Field(min_length=1)
    rollbacks: list[Rollback] = Field(default_factory=list)

    @property
    def method_duration_s(self) -> float:
        """From the start of the method until its last fault has recovered."""
        return max(a.delay_s + a.lead_s + a.duration_s for a in self.method)

    def faults(self, method_start: float) -> list[Fault]:
        return [action.fault(method_start) for action in self.method]

    def check(self, fleet: FleetSpec) -> None:
        """Raise `FaultError` if a fault or probe names something the fleet does not have."""
        for fault in self.faults(0.0):
            check_fault(fault, fleet)
        series = set(fleet.series)
        for probe in self.steady_state_hypothesis.probes:
            if (probe.service, probe.metric) not in series:
                raise FaultError(f"the fleet reports no {probe.metric} for {probe.service}")


def _phase(hypothesis: SteadyStateHypothesis, observations: Observations) -> dict[str, Any]:
    results = [p.check(observations.get((p.service, p.metric))) for p in hypothesis.probes]
    return {"steady_state_met": all(r["tolerance_met"] for r in results), "probes": results}


def evaluate(
    experiment: Experiment,
    before: Observations,
    during: Observations | None,
    after: Observations,
    *,
    started_at: float | None = None,
    ended_at: float | None = None,
    faults: Sequence[Fault] = (),
) -> dict[str, Any]:
    """The journal of one run from the metric observations of each phase."""
    hypothesis = experiment.steady_state_hypothesis
    first = _phase(hypothesis, before)
    aborted = not first["steady_state_met"]
    states: dict[str, Any] = {"before": first, "during": None, "after": None}
    if not aborted:
        if during is not None:
            states["during"] = _phase(hypothesis, during)
        states["after"] = _phase(hypothesis, after)
    checked = [s for s in states.values() if s is not None]
    held = all(s["steady_state_met"] for s in checked)
    return {
        "title": experiment.title,
        "experiment": experiment.model_dump(mode="json", by_alias=True),
        "status": "aborted" if aborted else "completed",
        "verdict": "held" if held else "deviated",
        "deviated": not held,
        "steady_states": states,
        "run": [f.to_dict() for f in faults]
        or [a.model_dump(mode="json") for a in experiment.method],
        "rollbacks": [r.model_dump(mode="json") for r in experiment.rollbacks],
        "start": started_at,
        "end": ended_at,
        "duration": None if started_at is None or ended_at is None else ended_at - started_at,
    }


def run_offline(
    fleet: Fleet,
    experiment: Experiment,
    start: float,
    *,
    observe_s: float = 600.0,
    settle_s: float = 120.0,
    step_s: float = 10.0,
) -> dict[str, Any]:
    """Run `experiment` on `fleet` without waiting: observe `observe_s` before `start`, inject
    the method at `start` (wall time), observe while it acts, roll back, let the fleet settle
    for `settle_s` and observe again. Times past `start` are computed, not lived through."""
    experiment.check(fleet.spec)
    method_start = fleet.sim_time(start)
    before_ts = start - observe_s + np.arange(int(observe_s // step_s)) * step_s
    before = _observe(fleet, experiment, before_ts)
    injected = [fleet.inject(f) for f in experiment.faults(method_start)]
    method_end = fleet.wall_time(method_start + experiment.method_duration_s)
    during_ts = start + np.arange(max(int((method_end - start) // step_s), 1)) * step_s
    during = _observe(fleet, experiment, during_ts)
    for rollback in experiment.rollbacks:
        fleet.stop(rollback.target, now=method_end)
    after_start = method_end + settle_s
    after_ts = after_start + np.arange(int(observe_s // step_s)) * step_s
    after = _observe(fleet, experiment, after_ts)
    return evaluate(
        experiment,
        before,
        during,
        after,
        started_at=start,
        ended_at=float(after_ts[-1]) if after_ts.size else after_start,
        faults=injected,
    )


def _observe(
    fleet: Fleet, experiment: Experiment, wall_ts: np.ndarray[Any, Any]
) -> dict[tuple[str, str], list[float]]:
    matrix = fleet.matrix(wall_ts.astype(np.float64))
    wanted = {(p.service, p.metric) for p in experiment.steady_state_hypothesis.probes}
    return {key: list(map(float, matrix.get(*key))) for key in wanted if key in matrix.series}
