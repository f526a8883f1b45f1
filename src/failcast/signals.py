"""Signals that alert rules read from other domains, behind one small protocol.

Threshold and anomaly-score rules read stored samples. The other kinds read a `Signal` per
service from whatever provider the owning domain registers:

| kind                | `Signal.value`                         | registered by |
|---------------------|----------------------------------------|---------------|
| forecast_breach     | hours until the forecast breaches      | detect        |
| failure_probability | probability of failure in the horizon  | predict       |
| slo_burn            | loudest firing tier: 2 page, 1 ticket, 0 none | slo    |
| drift               | drift score                            | detect        |

A domain registers on the registry the services' container holds (services.py), in its
`install_*(services)`:

    services.alert_signals.register("failure_probability", MyPredictor(...))

The registry is passed to `evaluate_org`, never global, so tests use their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

SignalKind = Literal["forecast_breach", "failure_probability", "slo_burn", "drift"]
SIGNAL_KINDS: tuple[SignalKind, ...] = (
    "forecast_breach",
    "failure_probability",
    "slo_burn",
    "drift",
)


@dataclass(frozen=True, slots=True)
class Factor:
    """A contributing factor and its share of the signal (any sign, any scale)."""

    name: str
    contribution: float


@dataclass(frozen=True, slots=True)
class Signal:
    """One provider reading for one service (and optional extra labels)."""

    service: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    baseline: float | None = None
    time_to_impact_hours: float | None = None
    factors: Sequence[Factor] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExplainedFactor:
    """One feature's push on a prediction's failure log-odds, as the prediction keeps it:
    `value` is None where the feature was missing."""

    feature: str
    metric: str | None
    value: float | None
    contribution: float
    statement: str


@dataclass(frozen=True, slots=True)
class CauseCandidate:
    """A service the root-cause analysis weighed, with the metrics that carried its score."""

    service: str
    score: float
    evidence: float
    explained_by: str | None = None
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RootCauseAnswer:
    """The root-cause verdict a prediction carries (`predict.scoring.root_cause_answer`)."""

    verdict: Literal["conclusive", "inconclusive"]
    service: str | None
    metric: str | None
    margin: float
    reason: str
    summary: str
    candidates: tuple[CauseCandidate, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The verdict as plain JSON, for an alert's context."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LatestPrediction:
    """The active model's newest prediction of one service: what dashboards, risk and
    failure-probability rules read. Probabilities, alarms and factors are by horizon in
    hours."""

    service: str
    ts: datetime
    model_version: int
    incident_type: str
    confidence: float
    risk_level: str
    root_cause: RootCauseAnswer | None
    probabilities: dict[int, float] = field(default_factory=dict)
    alarms: dict[int, bool] = field(default_factory=dict)
    factors: dict[int, list[ExplainedFactor]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SignalRequest:
    """What a rule asks a provider: the org, the time, an optional service and the rule's
    own parameters (horizon_hours, slo, metric, feature...)."""

    session: AsyncSession
    org_id: int
    now: datetime
    kind: SignalKind
    service: str | None
    params: Mapping[str, Any]


@runtime_checkable
class SignalProvider(Protocol):
    """Returns the current signals for a request; an empty list means no data."""

    async def signals(self, request: SignalRequest) -> Sequence[Signal]: ...


class SignalRegistry:
    """Providers by rule kind; several providers of one kind are read one after the other."""

    def __init__(self) -> None:
        self._providers: dict[str, list[SignalProvider]] = {}

    def register(self, kind: SignalKind, provider: SignalProvider) -> None:
        if kind not in SIGNAL_KINDS:
            raise ValueError(f"unknown signal kind {kind!r}; one of {', '.join(SIGNAL_KINDS)}")
        if not isinstance(provider, SignalProvider):
            raise TypeError("a provider needs an async signals(request) method")
        self._providers.setdefault(kind, []).append(provider)

    def providers(self, kind: str) -> list[SignalProvider]:
        return list(self._providers.get(kind, ()))

    def kinds(self) -> list[str]:
        return sorted(self._providers)

    async def signals(self, request: SignalRequest) -> list[Signal]:
        found: list[Signal] = []
        for provider in self.providers(request.kind):
            for signal in await provider.signals(request):
                if request.service is None or signal.service == request.service:
                    found.append(signal)
        return found


class StaticSignals:
    """A provider that answers with the signals it was given, per service; for demos and
    tests, and to bridge batch jobs that compute signals elsewhere."""

    def __init__(self, signals: Sequence[Signal] = ()) -> None:
        self.current: list[Signal] = list(signals)

    def set(self, signals: Sequence[Signal]) -> None:
        self.current = list(signals)

    async def signals(self, request: SignalRequest) -> Sequence[Signal]:
        return list(self.current)
