"""Alerting: rules, evaluation, lifecycle, silences, maintenance, inhibition, incidents.

Other domains feed the rule kinds they own through `SignalRegistry.register(kind, provider)`
(see `failcast.signals`), without importing alerting."""

from failcast.alerting.evaluate import EvaluationReport, evaluate_org

__all__ = ["EvaluationReport", "evaluate_org"]
