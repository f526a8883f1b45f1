"""Alerting: rules, evaluation, lifecycle, silences, maintenance, inhibition, incidents.

Other domains feed the rule kinds they own through `SignalRegistry.register(kind, provider)`
(see `failcast.alerting.signals`)."""

from failcast.alerting.evaluate import EvaluationReport, evaluate_org
from failcast.alerting.signals import (
    SIGNAL_KINDS,
    Factor,
    Signal,
    SignalKind,
    SignalProvider,
    SignalRegistry,
    SignalRequest,
    StaticSignals,
)

__all__ = [
    "SIGNAL_KINDS",
    "EvaluationReport",
    "Factor",
    "Signal",
    "SignalKind",
    "SignalProvider",
    "SignalRegistry",
    "SignalRequest",
    "StaticSignals",
    "evaluate_org",
]
