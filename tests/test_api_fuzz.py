"""Every operation of the API, fuzzed from its OpenAPI description with schemathesis, in
process, as a signed-in owner and as an API key holding every scope: no answer is a server
error, and every answer's status, content type, headers and body are the documented ones.

The budget is fixed (`EXAMPLES` generated requests per operation and credential, valid and
invalid ones) and the generation is derandomised, so a run is repeatable and takes about as
long every time."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from factories import PASSWORD, make_settings
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from failcast.app import create_app
from failcast.cli.docs import openapi_document
from failcast.db.migrate import upgrade

# Requests per operation and credential; FAILCAST_FUZZ_EXAMPLES raises it for a deeper run.
EXAMPLES = int(os.environ.get("FAILCAST_FUZZ_EXAMPLES", "10"))
# The checks are about answers, not speed: on a loaded machine a first call (imports, a cold
# cache, a background job sharing the event loop) may take longer than schemathesis's 10 s.
RESPONSE_TIMEOUT_S = 90


def no_internal_error(ctx: Any, response: Any, case: Any) -> None:
    """A 500 is never an answer; other 5xx must be documented (503: the store is busy,
    billing is not configured), which status_code_conformance checks."""
    if response.status_code == 500:
        raise AssertionError(f"500 from {case.method} {case.path}: {response.text[:500]}")


CHECKS = [
    no_internal_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
OPERATIONS = sorted(
    (operation.method.upper(), operation.path)
    for operation in (
        result.ok()
        for result in schemathesis.openapi.from_dict(openapi_document()).get_all_operations()
    )
)


@dataclass
class Fuzzing:
    schema: Any
    app: Any
    database: Path

    def credentials(self, kind: str) -> dict[str, str]:
        """A new owner of a new org, made a platform admin too, or an all-scopes API key."""
        email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
        with asgi.get_client(self.app) as http:
            registered = http.post(
                "/api/v1/register",
                json={"email": email, "password": PASSWORD, "org_name": "Fuzz"},
            )
            assert registered.status_code == 201, registered.text
            token = registered.json()["access_token"]
            if kind == "user":
                with sqlite3.connect(self.database) as db:
                    db.execute("UPDATE user_account SET is_superuser = 1 WHERE email = ?", (email,))
                return {"Authorization": f"Bearer {token}"}
            created = http.post(
                "/api/v1/api-keys",
                json={"name": "fuzz", "scopes": ["ingest", "read", "write", "admin"]},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201, created.text
            return {"Authorization": f"Bearer {created.json()['key']}"}


@pytest.fixture(scope="module")
def fuzzing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzing]:
    directory = tmp_path_factory.mktemp("fuzz")
    app_settings = make_settings(
        data_dir=directory,
        dashboard_enabled=False,
        # The fuzzer signs in and registers far more often than a person would.
        auth_rate_limit=1_000_000,
        lockout_ip_threshold=1_000_000,
    )
    upgrade(app_settings)
    app = create_app(app_settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    try:
        yield Fuzzing(schema, app, directory / "failcast.db")
    finally:
        asgi.shutdown_lifespans()


@pytest.mark.parametrize("credential", ["user", "api_key"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_answer_is_documented_and_none_is_a_server_error(
    fuzzing: Fuzzing, method: str, path: str, credential: str
) -> None:
    operation = fuzzing.schema[path][method]
    headers = fuzzing.credentials(credential)
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=RESPONSE_TIMEOUT_S)

    fuzz()
