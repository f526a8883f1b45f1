"""Organisations and their people: members, roles, invitations, switching, and the audit log."""
