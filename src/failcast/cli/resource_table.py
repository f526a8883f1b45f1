"""Which command stands for which API operation: the resource groups (built by
`cli/resources.py`), the hand-written commands, and the operations the CLI leaves out."""

from __future__ import annotations

import typer

from failcast.cli._app import app
from failcast.cli.account_commands import org_app
from failcast.cli.resources import Group, Op, command

V1 = "/api/v1"

GROUPS: tuple[Group, ...] = (
    Group(
        "account",
        "Your own account: profile, sessions, password.",
        (
            Op("profile", "GET", f"{V1}/profile", "Who you are, and your orgs.", person=True),
            Op(
                "sessions",
                "GET",
                f"{V1}/sessions",
                "Your signed-in sessions.",
                columns=("id", "created_at", "last_used_at", "ip", "user_agent", "current"),
                person=True,
            ),
            Op(
                "revoke-session",
                "DELETE",
                f"{V1}/sessions/{{session_id}}",
                "Sign one of your sessions out.",
                person=True,
            ),
            Op("logout", "POST", f"{V1}/logout", "Sign this session out.", person=True),
            Op("logout-all", "POST", f"{V1}/logout-all", "Sign every session out.", person=True),
            Op(
                "change-password",
                "POST",
                f"{V1}/password/change",
                "Change your password (--set current_password=... --set new_password=...).",
                body=True,
                person=True,
            ),
            Op(
                "verify-email",
                "POST",
                f"{V1}/email/verification",
                "Mail yourself a new verification link.",
                person=True,
            ),
        ),
    ),
    Group(
        "service",
        "Services, ML models and pipelines of the catalogue.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/services",
                "Every service of the org.",
                columns=("id", "name", "kind", "team", "tier", "owner"),
            ),
            Op("show", "GET", f"{V1}/services/{{service_id}}", "One service with its metrics."),
            Op(
                "create",
                "POST",
                f"{V1}/services",
                "Declare a service (--set name=checkout --set team=payments).",
                body=True,
            ),
            Op(
                "update",
                "PATCH",
                f"{V1}/services/{{service_id}}",
                "Change a service's kind, team, tier, owner or description.",
                body=True,
            ),
            Op("stats", "GET", f"{V1}/stats", "How much the org has stored."),
        ),
    ),
    Group(
        "log",
        "Log lines of services.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/logs",
                "Log lines, newest first.",
                query=("service", "level", "q", "start", "end", "limit"),
                columns=("ts", "service", "level", "message"),
            ),
            Op(
                "send",
                "POST",
                f"{V1}/logs",
                "Store log lines (--file with {logs: [...]}).",
                body=True,
            ),
        ),
    ),
    Group(
        "rule",
        "Alert rules.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/alert-rules",
                "Every alert rule.",
                columns=("id", "name", "kind", "severity", "enabled"),
            ),
            Op("show", "GET", f"{V1}/alert-rules/{{rule_id}}", "One alert rule."),
            Op(
                "create", "POST", f"{V1}/alert-rules", "Create a rule from --file/--set.", body=True
            ),
            Op(
                "update",
                "PUT",
                f"{V1}/alert-rules/{{rule_id}}",
                "Replace a rule with --file/--set.",
                body=True,
            ),
            Op("delete", "DELETE", f"{V1}/alert-rules/{{rule_id}}", "Delete a rule."),
            Op(
                "import",
                "POST",
                f"{V1}/alert-rules/import",
                "Create or replace rules from a YAML file (Failcast or Prometheus rule format).",
                media_type="application/yaml",
            ),
        ),
    ),
    Group(
        "alert",
        "Alerts: list, inspect, acknowledge, assign, comment, resolve.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/alerts",
                "Alert history, newest first.",
                query=("state", "severity", "service", "text", "start", "end", "limit"),
                columns=("id", "state", "severity", "service", "title", "started_at"),
            ),
            Op("show", "GET", f"{V1}/alerts/{{alert_id}}", "One alert with its timeline."),
            Op("ack", "POST", f"{V1}/alerts/{{alert_id}}/ack", "Acknowledge a firing alert."),
            Op(
                "assign",
                "POST",
                f"{V1}/alerts/{{alert_id}}/assign",
                "Assign an alert (--set assignee=...).",
                body=True,
            ),
            Op(
                "comment",
                "POST",
                f"{V1}/alerts/{{alert_id}}/comment",
                "Comment on an alert (--set message=...).",
                body=True,
            ),
            Op(
                "resolve",
                "POST",
                f"{V1}/alerts/{{alert_id}}/resolve",
                "Resolve an alert by hand.",
                body=True,
            ),
            Op(
                "incident",
                "POST",
                f"{V1}/alerts/{{alert_id}}/incident",
                "Record the incident behind an alert, for training.",
                body=True,
            ),
            Op("rca", "GET", f"{V1}/alerts/{{alert_id}}/rca", "Root causes of an alert."),
        ),
    ),
    Group(
        "silence",
        "Silences.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/silences",
                "Silences.",
                query=("include_expired",),
                columns=(
                    "id",
                    "state",
                    "matchers",
                    "starts_at",
                    "ends_at",
                    "created_by",
                    "comment",
                ),
            ),
            Op("show", "GET", f"{V1}/silences/{{silence_id}}", "One silence."),
            Op(
                "create",
                "POST",
                f"{V1}/silences",
                "Silence alerts (--file silence.yaml, or --set fields).",
                body=True,
            ),
            Op("update", "PUT", f"{V1}/silences/{{silence_id}}", "Replace a silence.", body=True),
            Op("expire", "DELETE", f"{V1}/silences/{{silence_id}}", "End a silence now."),
        ),
    ),
    Group(
        "maintenance",
        "Maintenance windows.",
        (
            Op("list", "GET", f"{V1}/maintenance-windows", "Maintenance windows."),
            Op(
                "create",
                "POST",
                f"{V1}/maintenance-windows",
                "Plan a maintenance window.",
                body=True,
            ),
            Op(
                "delete",
                "DELETE",
                f"{V1}/maintenance-windows/{{window_id}}",
                "Delete a maintenance window.",
            ),
        ),
    ),
    Group(
        "playbook",
        "Mitigation playbooks per incident type.",
        (
            Op("list", "GET", f"{V1}/playbooks", "Every incident type's playbook."),
            Op(
                "set",
                "PUT",
                f"{V1}/playbooks/{{incident_type}}",
                "Set an incident type's steps (--file playbook.yaml).",
                body=True,
            ),
            Op(
                "reset",
                "DELETE",
                f"{V1}/playbooks/{{incident_type}}",
                "Go back to the built-in steps.",
            ),
        ),
    ),
    Group(
        "incident",
        "Incidents: the labels failure models learn from.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/incidents",
                "Incidents.",
                query=("service", "start", "end"),
                columns=("id", "service", "type", "started_at", "ended_at", "source"),
            ),
            Op("create", "POST", f"{V1}/incidents", "Record incidents (--file).", body=True),
            Op(
                "import",
                "POST",
                f"{V1}/incidents/import",
                "Import incidents from a CSV file.",
                media_type="text/csv",
            ),
            Op("rca", "GET", f"{V1}/incidents/{{incident_id}}/rca", "Root causes of an incident."),
        ),
    ),
    Group(
        "channel",
        "Notification channels.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/channels",
                "Notification channels.",
                columns=("id", "name", "kind", "enabled"),
            ),
            Op("show", "GET", f"{V1}/channels/{{channel_id}}", "One channel."),
            Op(
                "create",
                "POST",
                f"{V1}/channels",
                "Add a channel (--set name=ops --set kind=slack --set config.url=...).",
                body=True,
            ),
            Op(
                "update",
                "PATCH",
                f"{V1}/channels/{{channel_id}}",
                "Change a channel.",
                body=True,
            ),
            Op("delete", "DELETE", f"{V1}/channels/{{channel_id}}", "Delete a channel."),
            Op("test", "POST", f"{V1}/channels/{{channel_id}}/test", "Send a test notification."),
            Op(
                "deliveries",
                "GET",
                f"{V1}/channels/{{channel_id}}/deliveries",
                "The channel's delivery log.",
                columns=("at", "event", "attempt", "success", "status_code", "error"),
            ),
            Op(
                "policy",
                "GET",
                f"{V1}/notification-policy",
                "The routing tree.",
            ),
            Op(
                "set-policy",
                "PUT",
                f"{V1}/notification-policy",
                "Replace the routing tree (--file policy.yaml).",
                body=True,
            ),
        ),
    ),
    Group(
        "scrape",
        "Prometheus endpoints Failcast pulls.",
        (
            Op("list", "GET", f"{V1}/scrape-targets", "Scrape targets."),
            Op("show", "GET", f"{V1}/scrape-targets/{{target_id}}", "One scrape target."),
            Op("create", "POST", f"{V1}/scrape-targets", "Add a scrape target.", body=True),
            Op(
                "update",
                "PATCH",
                f"{V1}/scrape-targets/{{target_id}}",
                "Change a scrape target.",
                body=True,
            ),
            Op("delete", "DELETE", f"{V1}/scrape-targets/{{target_id}}", "Remove a scrape target."),
        ),
    ),
    Group(
        "topology",
        "The dependency graph: declared, discovered and simulated edges in one.",
        (
            Op("show", "GET", f"{V1}/topology", "The declared topology."),
            Op(
                "set",
                "PUT",
                f"{V1}/topology",
                "Declare the topology from a YAML file.",
                media_type="application/yaml",
            ),
            Op("graph", "GET", f"{V1}/topology/graph", "The merged graph with each edge's source."),
            Op(
                "cascade",
                "GET",
                f"{V1}/topology/cascade",
                "Cascade risk along the graph.",
                query=("at", "horizon", "window"),
            ),
            Op("critical-path", "GET", f"{V1}/topology/critical-path", "The critical path."),
            Op(
                "blast-radius",
                "GET",
                f"{V1}/topology/blast-radius",
                "What a service's failure reaches.",
                query=("service",),
            ),
        ),
    ),
    Group(
        "health",
        "Health scores, risk and their configuration.",
        (
            Op("org", "GET", f"{V1}/health", "The org's health and executive summary."),
            Op(
                "services",
                "GET",
                f"{V1}/health/services",
                "Every service's health.",
                columns=("service", "score", "status", "kind", "tier"),
            ),
            Op(
                "service",
                "GET",
                f"{V1}/health/services/{{service_id}}",
                "One service's health, with the calculation.",
            ),
            Op("risk", "GET", f"{V1}/risk", "Risk levels of the services."),
            Op("config", "GET", f"{V1}/health/config", "Health weights and thresholds."),
            Op(
                "set-config",
                "PUT",
                f"{V1}/health/config",
                "Replace the org's health configuration.",
                body=True,
            ),
            Op(
                "set-service-config",
                "PUT",
                f"{V1}/health/config/services/{{service_id}}",
                "Override the configuration for one service.",
                body=True,
            ),
            Op(
                "reset-service-config",
                "DELETE",
                f"{V1}/health/config/services/{{service_id}}",
                "Drop a service's override.",
            ),
        ),
    ),
    Group(
        "slo",
        "Service level objectives.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/slos",
                "SLOs.",
                columns=("id", "name", "service", "objective", "window"),
            ),
            Op("show", "GET", f"{V1}/slos/{{slo_id}}", "One SLO."),
            Op("create", "POST", f"{V1}/slos", "Create an SLO.", body=True),
            Op("update", "PUT", f"{V1}/slos/{{slo_id}}", "Replace an SLO.", body=True),
            Op("delete", "DELETE", f"{V1}/slos/{{slo_id}}", "Delete an SLO."),
            Op(
                "import",
                "POST",
                f"{V1}/slos/import",
                "Import Sloth or OpenSLO documents from a YAML file.",
                media_type="application/yaml",
            ),
            Op("status", "GET", f"{V1}/slos/status", "Every SLO's budget and burn rates."),
            Op("status-of", "GET", f"{V1}/slos/{{slo_id}}/status", "One SLO's budget and burn."),
        ),
    ),
    Group(
        "chaos",
        "The simulated fleet and fault injection.",
        (
            Op("fleet", "GET", f"{V1}/chaos/fleet", "The simulated fleet."),
            Op(
                "simulator",
                "PUT",
                f"{V1}/chaos/simulator",
                "Switch the simulator on or off (--set enabled=true).",
                body=True,
            ),
            Op(
                "inject",
                "POST",
                f"{V1}/chaos/inject",
                "Inject a fault (--set fault=network_latency --set service=checkout).",
                body=True,
            ),
            Op("faults", "GET", f"{V1}/chaos/faults", "Faults, running and past."),
            Op("stop", "DELETE", f"{V1}/chaos/faults/{{fault_id}}", "Stop a fault."),
            Op("reset", "POST", f"{V1}/chaos/reset", "Stop every fault and experiment."),
            Op("experiments", "GET", f"{V1}/chaos/experiments", "Chaos experiments."),
            Op("run", "POST", f"{V1}/chaos/experiments", "Run an experiment.", body=True),
            Op(
                "experiment",
                "GET",
                f"{V1}/chaos/experiments/{{experiment_id}}",
                "One experiment with its observations.",
            ),
        ),
    ),
    Group(
        "model",
        "The org's failure models and predictions over the API.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/models",
                "Model versions.",
                columns=("version", "status", "source", "created_at"),
            ),
            Op("show", "GET", f"{V1}/models/{{version}}", "One model version with its figures."),
            Op(
                "promote",
                "POST",
                f"{V1}/models/{{version}}/promote",
                "Make a version active; past the gate only with --set force=true --set reason=...",
                body=True,
            ),
            Op(
                "rollback",
                "POST",
                f"{V1}/models/{{version}}/rollback",
                "Retire the active version for the one it replaced.",
            ),
            Op(
                "train", "POST", f"{V1}/models/train", "Train a model on the org's data.", body=True
            ),
            Op(
                "jobs",
                "GET",
                f"{V1}/training-jobs",
                "Requested trainings, newest first, and why any failed.",
                query=("limit",),
                columns=("id", "state", "source", "days", "model_version", "reason"),
            ),
            Op(
                "job",
                "GET",
                f"{V1}/training-jobs/{{job_id}}",
                "One training: its state, version or reason, and advice.",
            ),
            Op(
                "predictions",
                "GET",
                f"{V1}/predictions",
                "Stored predictions.",
                query=("service", "horizon", "latest", "shadow", "matched", "limit"),
            ),
        ),
    ),
    Group(
        "detect",
        "Anomaly detectors, drift and forecasts.",
        (
            Op("list", "GET", f"{V1}/detectors", "Detector configurations."),
            Op("score", "POST", f"{V1}/detect/score", "Score values with a detector.", body=True),
            Op(
                "series",
                "GET",
                f"{V1}/detectors/series",
                "The detector each live series uses.",
                query=("service",),
            ),
            Op(
                "choose",
                "PUT",
                f"{V1}/detectors/series",
                "Choose the detector of a service's metric.",
                body=True,
            ),
            Op(
                "reset",
                "DELETE",
                f"{V1}/detectors/series",
                "Go back to the default detector.",
                query=("service", "metric"),
            ),
            Op("drift", "GET", f"{V1}/drift", "Drift of a service's metrics.", query=("service",)),
            Op(
                "forecast",
                "GET",
                f"{V1}/forecast",
                "Forecast of a metric.",
                query=("service", "metric", "horizon"),
            ),
            Op("rca", "POST", f"{V1}/rca", "Rank root causes of a symptom.", body=True),
            Op(
                "roles",
                "GET",
                f"{V1}/metric-roles",
                "The roles and limits declared for metrics.",
                columns=("metric", "service", "role", "limit"),
            ),
            Op(
                "declare-role",
                "PUT",
                f"{V1}/metric-roles",
                "Declare a metric's role and limit (--set metric=queue_depth --set role=saturation"
                " --set limit=500).",
                body=True,
            ),
            Op(
                "forget-role",
                "DELETE",
                f"{V1}/metric-roles",
                "Read a metric's role from its name again.",
                query=("metric", "service"),
            ),
        ),
    ),
    Group(
        "report",
        "Reliability reports and their subscribers.",
        (
            Op("list", "GET", f"{V1}/reports", "Stored reports."),
            Op("create", "POST", f"{V1}/reports", "Build and store a report.", body=True),
            Op(
                "pdf",
                "GET",
                f"{V1}/reports/{{report_id}}.pdf",
                "Download a stored report.",
                download=True,
            ),
            Op(
                "now",
                "GET",
                f"{V1}/reports/reliability.pdf",
                "Download a reliability report of the current state.",
                query=("start", "end"),
                download=True,
            ),
            Op("subscribers", "GET", f"{V1}/reports/subscriptions", "Who gets the weekly report."),
            Op(
                "subscribe",
                "POST",
                f"{V1}/reports/subscriptions",
                "Mail the weekly report to someone (--set email=...).",
                body=True,
            ),
            Op(
                "unsubscribe",
                "DELETE",
                f"{V1}/reports/subscriptions/{{subscription_id}}",
                "Stop mailing someone.",
            ),
        ),
    ),
    Group(
        "team",
        "Teams: own services, have members, receive their services' alerts.",
        (
            Op(
                "list",
                "GET",
                f"{V1}/teams",
                "Every team.",
                columns=("id", "name", "services", "channels", "members"),
            ),
            Op("show", "GET", f"{V1}/teams/{{team_id}}", "One team."),
            Op(
                "create",
                "POST",
                f"{V1}/teams",
                "Create a team (--set name=payments --set 'services=\\[checkout]').",
                body=True,
            ),
            Op(
                "update",
                "PATCH",
                f"{V1}/teams/{{team_id}}",
                "Rename a team or change its services, channels or description.",
                body=True,
            ),
            Op("delete", "DELETE", f"{V1}/teams/{{team_id}}", "Delete a team."),
            Op(
                "add-member",
                "PUT",
                f"{V1}/teams/{{team_id}}/members/{{user_id}}",
                "Add a member of the org to a team.",
            ),
            Op(
                "remove-member",
                "DELETE",
                f"{V1}/teams/{{team_id}}/members/{{user_id}}",
                "Take a member out of a team.",
            ),
            Op("settings", "GET", f"{V1}/team-settings", "Whether members see only their teams."),
            Op(
                "set-settings",
                "PUT",
                f"{V1}/team-settings",
                "Restrict members to their teams (--set restrict_members_to_teams=true).",
                body=True,
            ),
        ),
    ),
    Group(
        "billing",
        "Plans and the org's subscription.",
        (
            Op("plans", "GET", f"{V1}/plans", "Plans and their limits."),
            Op("show", "GET", f"{V1}/billing", "The org's plan, usage and subscription."),
            Op(
                "checkout",
                "POST",
                f"{V1}/billing/checkout",
                "A checkout link for a plan (--set plan=team).",
                body=True,
                person=True,
            ),
            Op(
                "portal",
                "POST",
                f"{V1}/billing/portal",
                "A link to the billing portal.",
                body=True,
                person=True,
            ),
        ),
    ),
    Group(
        "admin",
        "Platform administration (platform administrators only).",
        (
            Op("users", "GET", f"{V1}/admin/users", "Every user.", person=True),
            Op(
                "disable-user",
                "POST",
                f"{V1}/admin/users/{{user_id}}/disable",
                "Disable a user.",
                person=True,
            ),
            Op(
                "enable-user",
                "POST",
                f"{V1}/admin/users/{{user_id}}/enable",
                "Enable a user.",
                person=True,
            ),
            Op("orgs", "GET", f"{V1}/admin/orgs", "Every org.", person=True),
            Op(
                "set-plan",
                "PATCH",
                f"{V1}/admin/orgs/{{org_id}}",
                "Put an org on a plan (--set plan=...).",
                body=True,
                person=True,
            ),
            Op(
                "set-limits",
                "PUT",
                f"{V1}/admin/orgs/{{org_id}}/limits",
                "Override an org's limits.",
                body=True,
                person=True,
            ),
            Op("stats", "GET", f"{V1}/admin/stats", "Platform figures.", person=True),
            Op("usage", "GET", f"{V1}/admin/usage", "Usage per org.", person=True),
        ),
    ),
)

# Commands added to the `org` group, which the hand-written org commands started.
ORG_OPS: tuple[Op, ...] = (
    Op("update", "PATCH", f"{V1}/orgs/current", "Rename the current org.", body=True, person=True),
    Op(
        "apply-defaults",
        "POST",
        f"{V1}/orgs/current/defaults",
        "Add the default alert rules, SLOs and owners' email channel (what exists is kept).",
    ),
    Op(
        "transfer",
        "POST",
        f"{V1}/orgs/{{org_id}}/transfer-ownership",
        "Hand the org to another member (--set user_id=...).",
        body=True,
        person=True,
    ),
    Op(
        "members",
        "GET",
        f"{V1}/orgs/current/members",
        "Members and their roles.",
        columns=("user_id", "email", "name", "role", "joined_at"),
        person=True,
    ),
    Op(
        "set-role",
        "PATCH",
        f"{V1}/orgs/current/members/{{user_id}}",
        "Change a member's role (--set role=admin).",
        body=True,
        person=True,
    ),
    Op(
        "remove-member",
        "DELETE",
        f"{V1}/orgs/current/members/{{user_id}}",
        "Remove a member.",
        person=True,
    ),
    Op(
        "invitations",
        "GET",
        f"{V1}/orgs/current/invitations",
        "Invitations.",
        columns=("id", "email", "role", "status", "expires_at"),
        person=True,
    ),
    Op(
        "invite",
        "POST",
        f"{V1}/orgs/current/invitations",
        "Invite someone (--set email=... --set role=member).",
        body=True,
        person=True,
    ),
    Op(
        "revoke-invitation",
        "DELETE",
        f"{V1}/orgs/current/invitations/{{invitation_id}}",
        "Revoke an invitation.",
        person=True,
    ),
    Op(
        "audit",
        "GET",
        f"{V1}/audit",
        "The audit log.",
        query=("action", "limit"),
        columns=("at", "actor", "action", "target"),
        person=True,
    ),
)

# Operations that hand-written commands cover.
HAND_WRITTEN: dict[tuple[str, str], str] = {
    ("POST", f"{V1}/login"): "failcast login --email",
    ("GET", f"{V1}/services"): "failcast services",
    ("GET", f"{V1}/metrics"): "failcast query",
    ("POST", f"{V1}/metrics"): "failcast ingest",
    ("GET", f"{V1}/alerts"): "failcast alerts",
    ("POST", f"{V1}/predict"): "failcast predict",
    ("GET", f"{V1}/export/{{kind}}"): "failcast export",
    ("GET", f"{V1}/orgs"): "failcast org list",
    ("GET", f"{V1}/orgs/current"): "failcast org current",
    ("POST", f"{V1}/orgs"): "failcast org create",
    ("POST", f"{V1}/orgs/{{org_id}}/switch"): "failcast org switch",
    ("GET", f"{V1}/api-keys"): "failcast apikey list",
    ("POST", f"{V1}/api-keys"): "failcast apikey create",
    ("DELETE", f"{V1}/api-keys/{{key_id}}"): "failcast apikey revoke",
}

# Operations no command offers, and why.
_MAILED = "a step of a mailed link or a sign-up, done in the browser"
_MACHINE = "for machines that send data (Prometheus, OTLP exporters, the SDK, webhooks)"
_GRAFANA = "Prometheus' query API, for Grafana and other Prometheus clients"
_PROBE = "a probe for load balancers and monitoring"
NOT_IN_CLI: dict[tuple[str, str], str] = {
    ("GET", "/health"): _PROBE,
    ("GET", "/ready"): _PROBE,
    ("GET", "/metrics"): "the server's own metrics, scraped by Prometheus",
    ("GET", f"{V1}/prometheus/metrics"): "the results as metrics, scraped by Prometheus",
    ("POST", f"{V1}/register"): _MAILED,
    ("POST", f"{V1}/login/oidc"): "sign-in with an identity provider's token, done in the browser",
    ("POST", f"{V1}/token/refresh"): "used by every command when the stored token expires",
    ("GET", f"{V1}/email/verify"): _MAILED,
    ("POST", f"{V1}/password/forgot"): _MAILED,
    ("GET", f"{V1}/password/reset"): _MAILED,
    ("POST", f"{V1}/password/reset"): _MAILED,
    ("GET", f"{V1}/invitations/{{token}}"): _MAILED,
    ("POST", f"{V1}/invitations/accept"): _MAILED,
    ("POST", f"{V1}/invitations/decline"): _MAILED,
    ("POST", f"{V1}/invitations/register"): _MAILED,
    ("POST", f"{V1}/prometheus/write"): _MACHINE,
    ("POST", "/v1/metrics"): _MACHINE,
    ("POST", "/api/v2/alerts"): _MACHINE,
    ("POST", f"{V1}/ml/predictions"): _MACHINE,
    ("POST", f"{V1}/ml/labels"): _MACHINE,
    ("POST", f"{V1}/webhooks/alertmanager"): _MACHINE,
    ("POST", f"{V1}/webhooks/incidents"): _MACHINE,
    ("POST", f"{V1}/billing/webhook"): "Stripe's webhook",
    **{
        (method, f"/prometheus/api/v1/{name}"): _GRAFANA
        for method in ("GET", "POST")
        for name in ("query", "query_range", "series", "labels")
    },
    ("GET", "/prometheus/api/v1/label/{name}/values"): _GRAFANA,
    ("GET", "/prometheus/api/v1/status/buildinfo"): _GRAFANA,
    ("GET", "/prometheus/api/v1/metadata"): _GRAFANA,
}


def _register() -> dict[tuple[str, str], str]:
    covered = dict(HAND_WRITTEN)
    for group in GROUPS:
        sub = typer.Typer(help=group.help, no_args_is_help=True)
        app.add_typer(sub, name=group.name)
        for op in group.ops:
            sub.command(op.name)(command(group, op))
            covered[(op.method, op.path)] = f"failcast {group.name} {op.name}"
    org = Group("org", "", ORG_OPS)
    for op in ORG_OPS:
        org_app.command(op.name)(command(org, op))
        covered[(op.method, op.path)] = f"failcast org {op.name}"
    return covered


COVERAGE = _register()
