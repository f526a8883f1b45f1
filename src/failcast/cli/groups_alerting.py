"""Resource groups of alerting: rules, alerts, silences, maintenance windows, playbooks,
incidents and notification channels."""

from __future__ import annotations

from failcast.cli.resources import Group, Op

V1 = "/api/v1"

GROUPS: tuple[Group, ...] = (
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
)
