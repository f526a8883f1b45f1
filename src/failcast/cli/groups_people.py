"""Resource groups about people and the org: your account, teams, billing, platform
administration, and the org commands beside `failcast org list|current|create|switch`."""

from __future__ import annotations

from failcast.cli.resources import Group, Op

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


# The `failcast org` commands beyond those of account_commands.py.
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
