"""Every table, one per file. Importing this package registers them all on `Base.metadata`."""

from failcast.models.alert import Alert
from failcast.models.alert_event import AlertEvent
from failcast.models.alert_rule import AlertRule
from failcast.models.api_key import ApiKey
from failcast.models.audit_event import AuditEvent
from failcast.models.auth_session import AuthSession
from failcast.models.chaos_experiment import ChaosExperiment, ExperimentStatus, Verdict
from failcast.models.chaos_fault import ChaosFault
from failcast.models.delivery_attempt import DeliveryAttempt, DeliveryEvent, NotificationEvent
from failcast.models.detector_choice import DetectorChoice
from failcast.models.detector_state import DetectorState
from failcast.models.health_config import HealthConfigRow
from failcast.models.incident import Incident, IncidentSource, IncidentType
from failcast.models.invitation import Invitation
from failcast.models.job_run import JobRun
from failcast.models.log_entry import LogEntry, LogLevel
from failcast.models.maintenance_window import MaintenanceWindow
from failcast.models.membership import Membership, Role
from failcast.models.metric_declaration import MetricDeclaration
from failcast.models.mitigation_playbook import MitigationPlaybook
from failcast.models.model_version import ModelSource, ModelStatus, ModelVersion, TrainingSource
from failcast.models.notification_channel import NotificationChannel
from failcast.models.notification_group import NotificationGroup
from failcast.models.notification_policy import NotificationPolicy
from failcast.models.org_usage import OrgUsage
from failcast.models.organization import Organization
from failcast.models.plan import Plan
from failcast.models.prediction import FailurePrediction
from failcast.models.prediction_event import PredictionEvent
from failcast.models.refresh_token import RefreshToken
from failcast.models.reliability_report import ReliabilityReport, ReportTrigger
from failcast.models.report_subscription import ReportSubscription
from failcast.models.sample import Sample
from failcast.models.sample_chunk import SampleChunk
from failcast.models.sample_rollup import SampleRollup
from failcast.models.sample_rollup_dirty import SampleRollupDirty
from failcast.models.scrape_target import ScrapeTarget
from failcast.models.series import Series
from failcast.models.series_label import SeriesLabel
from failcast.models.service import Service, ServiceKind
from failcast.models.silence import Silence
from failcast.models.slo import Slo
from failcast.models.stripe_event import StripeEvent
from failcast.models.subscription import Subscription
from failcast.models.team import Team
from failcast.models.team_member import TeamMember
from failcast.models.topology_edge import TopologyEdge
from failcast.models.topology_node import TopologyNode
from failcast.models.training_job import TrainingJob, TrainingState
from failcast.models.user import User
from failcast.models.user_identity import UserIdentity

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertRule",
    "ApiKey",
    "AuditEvent",
    "AuthSession",
    "ChaosExperiment",
    "ChaosFault",
    "DeliveryAttempt",
    "DeliveryEvent",
    "DetectorChoice",
    "DetectorState",
    "ExperimentStatus",
    "FailurePrediction",
    "HealthConfigRow",
    "Incident",
    "IncidentSource",
    "IncidentType",
    "Invitation",
    "JobRun",
    "LogEntry",
    "LogLevel",
    "MaintenanceWindow",
    "Membership",
    "MetricDeclaration",
    "MitigationPlaybook",
    "ModelSource",
    "ModelStatus",
    "ModelVersion",
    "NotificationChannel",
    "NotificationEvent",
    "NotificationGroup",
    "NotificationPolicy",
    "OrgUsage",
    "Organization",
    "Plan",
    "PredictionEvent",
    "RefreshToken",
    "ReliabilityReport",
    "ReportSubscription",
    "ReportTrigger",
    "Role",
    "Sample",
    "SampleChunk",
    "SampleRollup",
    "SampleRollupDirty",
    "ScrapeTarget",
    "Series",
    "SeriesLabel",
    "Service",
    "ServiceKind",
    "Silence",
    "Slo",
    "StripeEvent",
    "Subscription",
    "Team",
    "TeamMember",
    "TopologyEdge",
    "TopologyNode",
    "TrainingJob",
    "TrainingSource",
    "TrainingState",
    "User",
    "UserIdentity",
    "Verdict",
]
