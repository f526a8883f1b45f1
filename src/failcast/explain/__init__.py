"""From model contributions and anomaly evidence to statements and root causes; no I/O."""

from failcast.explain.evidence import ServiceEvidence, metric_evidence, service_evidence
from failcast.explain.factors import Factor, describe_feature, top_factors
from failcast.explain.rca import (
    DEFAULT_MARGIN,
    DEFAULT_MIN_EVIDENCE,
    Candidate,
    RootCause,
    rank_root_causes,
)

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_MIN_EVIDENCE",
    "Candidate",
    "Factor",
    "RootCause",
    "ServiceEvidence",
    "describe_feature",
    "metric_evidence",
    "rank_root_causes",
    "service_evidence",
    "top_factors",
]
