"""Health scores of services and organisations, risk levels and the executive summary."""

from failcast.health.config import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    KIND_COMPONENTS,
    METRICS,
    Component,
    HealthConfig,
    HealthOverride,
    MetricName,
    OrgAggregation,
    ResolvedHealthConfig,
    Threshold,
    ThresholdOverride,
    load_health_config_yaml,
)
from failcast.health.org import OrgHealth, score_org
from failcast.health.risk import RiskAssessment, RiskSignal, assess_risk
from failcast.health.score import (
    ComponentScore,
    MetricScore,
    ServiceHealth,
    ServiceMetrics,
    SkippedComponent,
    metric_score,
    metric_status,
    score_service,
)
from failcast.health.summary import executive_summary
from failcast.predict.risk import RiskLevel

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "KIND_COMPONENTS",
    "METRICS",
    "Component",
    "ComponentScore",
    "HealthConfig",
    "HealthOverride",
    "MetricName",
    "MetricScore",
    "OrgAggregation",
    "OrgHealth",
    "ResolvedHealthConfig",
    "RiskAssessment",
    "RiskLevel",
    "RiskSignal",
    "ServiceHealth",
    "ServiceMetrics",
    "SkippedComponent",
    "Threshold",
    "ThresholdOverride",
    "assess_risk",
    "executive_summary",
    "load_health_config_yaml",
    "metric_score",
    "metric_status",
    "score_org",
    "score_service",
]
