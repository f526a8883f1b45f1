"""Which command stands for which API operation: the resource groups (groups_*.py, built by
`cli/resources.py`), the hand-written commands, and the operations the CLI leaves out."""

from __future__ import annotations

import typer

from failcast.cli import groups_alerting, groups_people, groups_telemetry
from failcast.cli._app import app
from failcast.cli.account_commands import org_app
from failcast.cli.resources import Group, command

V1 = "/api/v1"

GROUPS: tuple[Group, ...] = (
    *groups_people.GROUPS,
    *groups_alerting.GROUPS,
    *groups_telemetry.GROUPS,
)
ORG_OPS = groups_people.ORG_OPS


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
