"""Every API operation has a CLI command, or is on the documented list of those that make no
sense in a CLI; and every resource command matches its operation's path, query and body."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from failcast.cli.resource_table import COVERAGE, GROUPS, NOT_IN_CLI, ORG_OPS
from failcast.cli.resources import Op


def operations(app: FastAPI) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, methods in app.openapi()["paths"].items()
        for method, operation in methods.items()
    }


def test_every_operation_has_a_command_or_a_reason(app: FastAPI) -> None:
    known = operations(app)
    missing = sorted(set(known) - set(COVERAGE) - set(NOT_IN_CLI))
    assert missing == [], f"API operations without a CLI command: {missing}"
    stale = sorted((set(COVERAGE) | set(NOT_IN_CLI)) - set(known))
    assert stale == [], f"commands or exclusions for operations that do not exist: {stale}"
    assert not set(COVERAGE) & set(NOT_IN_CLI)
    assert all(reason for reason in NOT_IN_CLI.values())


def test_resource_commands_match_their_operations(app: FastAPI) -> None:
    known = operations(app)
    ops: list[Op] = [op for group in GROUPS for op in group.ops] + list(ORG_OPS)
    for op in ops:
        operation = known[(op.method, op.path)]
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert set(op.query) <= query, (op.path, set(op.query) - query)
        content = operation.get("requestBody", {}).get("content", {})
        if op.media_type:
            assert op.media_type in content, op.path
        else:
            assert op.body == bool(content), op.path
