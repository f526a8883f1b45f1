"""Tenant isolation and authorisation, checked on every endpoint of the route table.

The endpoints come from the app itself, so an endpoint added later is covered without editing
this file. Each protected endpoint is called:

- without a token, with an expired token and with a revoked session's token: 401;
- by an API key lacking what the endpoint requires: 403;
- by a viewer, for every write method: 403 (self-service endpoints excepted, listed below);
- by every role of org A with org B's resource ids in the path: refused exactly as for an id
  that does not exist (403 or 404; or the same 422 when a body's rules go beyond its schema);
- by every role of org A for every read: never a trace of org B's data in the answer.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from factories import Account, Mailbox, add_member, bearer, create_api_key, login, register
from factories import mailbox as mailbox
from fastapi import FastAPI
from fastapi.routing import APIRoute

from failcast.auth.api_keys import Scope
from failcast.auth.principal import REQUIREMENTS, Requirement, current_principal
from failcast.deps import services_of
from failcast.models.membership import Role

# Endpoints anyone may call: they authenticate by what is in the request (a password, a refresh
# token, a mailed link's token) or only ever answer about the caller.
PUBLIC = {
    ("POST", "/api/v1/register"),
    ("POST", "/api/v1/login"),
    ("POST", "/api/v1/login/oidc"),
    ("POST", "/api/v1/token/refresh"),
    ("GET", "/api/v1/email/verify"),
    ("POST", "/api/v1/password/forgot"),
    ("GET", "/api/v1/password/reset"),
    ("POST", "/api/v1/password/reset"),
    ("GET", "/api/v1/invitations/{token}"),
    ("POST", "/api/v1/invitations/decline"),
    ("POST", "/api/v1/invitations/register"),
    # Stripe's calls, authenticated by their signature header.
    ("POST", "/api/v1/billing/webhook"),
}
# Writes any signed-in person may make whatever their role: they touch only their own account
# and sessions, or create an org they will own.
SELF_SERVICE = {
    ("POST", "/api/v1/logout"),
    ("POST", "/api/v1/logout-all"),
    ("DELETE", "/api/v1/sessions/{session_id}"),
    ("POST", "/api/v1/password/change"),
    ("POST", "/api/v1/email/verification"),
    ("POST", "/api/v1/orgs"),
    ("POST", "/api/v1/orgs/{org_id}/switch"),
    ("POST", "/api/v1/invitations/accept"),
}
# POSTs that only compute an answer from what they are sent and change nothing: reads.
READS_BY_POST = {
    ("POST", "/api/v1/predict"),
    ("POST", "/api/v1/rca"),
    ("POST", "/api/v1/detect/score"),
    # Prometheus' query API takes its parameters as a form, as Grafana posts them.
    ("POST", "/prometheus/api/v1/query"),
    ("POST", "/prometheus/api/v1/query_range"),
    ("POST", "/prometheus/api/v1/series"),
    ("POST", "/prometheus/api/v1/labels"),
}
# Dependencies that authenticate the caller themselves instead of depending on
# current_principal (e.g. to accept an API key as a basic-auth password), by qualified name.
CUSTOM_AUTHENTICATORS = {
    "failcast.integrations.auth.ingest_principal": Requirement(scope=Scope.ingest),
    "failcast.integrations.auth.query_principal": Requirement(role=Role.viewer),
}
# Request bodies for endpoints whose rules go beyond their JSON Schema (a body that fails
# validation would hide whether the resource check refuses the caller).
BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/api/v1/silences/{silence_id}"): {"matchers": ['service="probe"'], "duration": "1h"},
}
# Text that appears only in org B's data: A must never see it.
MARK = "zqxj"
MISSING_ID = 987_654_321
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


_PDF_STREAM = re.compile(rb"<<([^<>]*)>>\s*stream\r?\n(.*?)\s*endstream", re.S)


def readable(response: httpx.Response) -> str:
    """What a person reading the answer sees, lowercased: a PDF's text streams decoded (the
    encoded bytes, and an image's pixels, hold any four letters now and then), any other
    answer's text."""
    if not response.headers.get("content-type", "").startswith("application/pdf"):
        return response.text.lower()
    parts: list[bytes] = []
    for head, stream in _PDF_STREAM.findall(response.content):
        if b"/Image" in head:
            continue
        try:
            if stream.rstrip().endswith(b"~>"):
                stream = base64.a85decode(stream.strip(), adobe=True)
            parts.append(zlib.decompress(stream))
        except (ValueError, zlib.error):
            parts.append(stream)
    return b"\n".join(parts).decode("latin-1").lower()


@dataclass
class Endpoint:
    method: str
    path: str
    protected: bool
    requirements: list[Requirement]
    operation: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def admits_key(self, scopes: frozenset[Scope]) -> bool:
        return all(r.admits_key(scopes) for r in self.requirements)


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _routes(app: FastAPI) -> Iterator[Any]:
    """Every API route with its full path, whether routers are flattened or kept included."""
    for route in app.routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "effective_route_contexts"):
            yield from (c for c in route.effective_route_contexts() if c.dependant is not None)


def endpoints(app: FastAPI) -> list[Endpoint]:
    spec = app.openapi()
    found: list[Endpoint] = []
    for route in _routes(app):
        calls = set(_calls(route.dependant))
        requirements = [REQUIREMENTS[c] for c in calls if c in REQUIREMENTS]
        custom = [CUSTOM_AUTHENTICATORS.get(f"{c.__module__}.{c.__qualname__}") for c in calls]
        requirements += [r for r in custom if r is not None]
        protected = current_principal in calls or any(r is not None for r in custom)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            operation = spec["paths"].get(route.path, {}).get(method.lower(), {})
            found.append(Endpoint(method, route.path, protected, requirements, operation))
    return found


def sample(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """The simplest value `schema` accepts."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return sample(spec["components"]["schemas"][name], spec)
    if "discriminator" in schema:
        tag, target = next(iter(schema["discriminator"]["mapping"].items()))
        value = sample({"$ref": target}, spec)
        return value | {schema["discriminator"]["propertyName"]: tag}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return sample(options[0], spec)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(part, spec)
            if isinstance(value, dict):
                merged |= value
        return merged
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: sample(props[name], spec) for name in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items", {}), spec) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 2))
        middle = (low + high) / 2
        return max(int(low) + 1, round(middle)) if kind == "integer" else middle
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "email":
            return "probe@a.example"
        if fmt == "date-time":
            return datetime.now(UTC).isoformat()
        return "probe" + "x" * max(0, schema.get("minLength", 0) - 5)
    return {}


@dataclass
class World:
    a_owner: Account
    a_roles: dict[str, Account]
    b_owner: Account
    a_ids: dict[str, int]
    b_ids: dict[str, int]
    keys: dict[str, str]
    expired_token: str
    revoked_token: str


async def _session_id(client: httpx.AsyncClient, account: Account) -> int:
    listed = (await client.get("/api/v1/sessions", headers=account.headers)).json()
    return int(next(s["id"] for s in listed if s["current"]))


async def _seed(client: httpx.AsyncClient, account: Account, key: str, label: str) -> int:
    now = datetime.now(UTC).timestamp()
    sample_ = {"service": f"{label}-service", "metric": f"{label}_cpu", "ts": now - 60, "value": 1}
    log = {"service": f"{label}-service", "ts": now - 60, "message": f"{label} secret log"}
    assert (
        await client.post("/api/v1/metrics", json={"samples": [sample_]}, headers=bearer(key))
    ).status_code == 200
    assert (
        await client.post("/api/v1/logs", json={"logs": [log]}, headers=bearer(key))
    ).status_code == 200
    services = (await client.get("/api/v1/services", headers=account.headers)).json()
    return int(services[0]["id"])


async def _world(client: httpx.AsyncClient, app: FastAPI, mailbox: Mailbox) -> World:
    a_owner = await register(client, "owner@a.example", "Org A")
    b_owner = await register(client, f"owner-{MARK}@b.example", f"Org B {MARK}")
    a_roles = {"owner": a_owner}
    for role in ("admin", "member", "viewer"):
        a_roles[role] = await add_member(client, app, mailbox, a_owner, f"{role}@a.example", role)
    b_member = await add_member(client, app, mailbox, b_owner, f"member-{MARK}@b.example", "member")

    ids: dict[str, dict[str, int]] = {}
    keys: dict[str, str] = {}
    for side, owner, label in (("a", a_owner, "alpha"), ("b", b_owner, MARK)):
        created = await client.post(
            "/api/v1/api-keys",
            json={"name": f"{label}-key", "scopes": ["ingest", "read"]},
            headers=owner.headers,
        )
        ingest = created.json()["key"]
        service_id = await _seed(client, owner, ingest, label)
        invited = await client.post(
            "/api/v1/orgs/current/invitations",
            json={"email": f"invitee-{label}@example.com", "role": "viewer"},
            headers=owner.headers,
        )
        assert invited.status_code == 201, invited.text
        key_list = (await client.get("/api/v1/api-keys", headers=owner.headers)).json()
        ids[side] = {
            "service_id": service_id,
            "key_id": key_list[0]["id"],
            "org_id": owner.org_id,
            "invitation_id": invited.json()["id"],
            "session_id": await _session_id(client, owner),
        }
        keys[f"{side}-ingest"] = ingest
    ids["a"]["user_id"] = a_roles["member"].user_id
    ids["b"]["user_id"] = b_member.user_id
    keys["ingest-only"] = await create_api_key(client, a_owner, ["ingest"])
    keys["read-only"] = await create_api_key(client, a_owner, ["read"])
    keys["admin"] = await create_api_key(client, a_owner, ["admin", "read", "write", "ingest"])

    settings = services_of(app).settings
    expired = jwt.encode(
        {
            "sub": str(a_owner.user_id),
            "org": a_owner.org_id,
            "sid": ids["a"]["session_id"],
            "iss": "failcast",
            "typ": "access",
            "exp": int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()),
        },
        settings.secret_key,
        algorithm="HS256",
    )
    revoked = (await login(client, a_owner.email)).json()["access_token"]
    assert (await client.post("/api/v1/logout", headers=bearer(revoked))).status_code == 204
    return World(a_owner, a_roles, b_owner, ids["a"], ids["b"], keys, expired, revoked)


class Prober:
    """Builds and sends requests to one endpoint, filling parameters and bodies."""

    def __init__(self, client: httpx.AsyncClient, spec: dict[str, Any], world: World) -> None:
        self.client = client
        self.spec = spec
        self.world = world
        self._listed: dict[tuple[str, str], int | None] = {}

    async def _discovered(self, endpoint: Endpoint, side: str) -> int | None:
        """An id of the side's own resource behind the endpoint's collection, if it has one."""
        prefix = endpoint.path.split("{", 1)[0].rstrip("/")
        owner = self.world.a_owner if side == "a" else self.world.b_owner
        if (prefix, side) not in self._listed:
            found: int | None = None
            response = await self.client.get(prefix, headers=owner.headers)
            if response.status_code == 200:
                body = response.json()
                items = (
                    body
                    if isinstance(body, list)
                    else next((v for v in body.values() if isinstance(v, list)), [])
                    if isinstance(body, dict)
                    else []
                )
                found = next((i["id"] for i in items if isinstance(i, dict) and "id" in i), None)
            self._listed[(prefix, side)] = found
        return self._listed[(prefix, side)]

    def _param_schema(self, endpoint: Endpoint, name: str) -> dict[str, Any]:
        for param in endpoint.operation.get("parameters", []):
            if param["name"] == name and param["in"] == "path":
                schema: dict[str, Any] = param.get("schema", {})
                return schema
        return {}

    def is_resource_id(self, endpoint: Endpoint, name: str) -> bool:
        schema = self._param_schema(endpoint, name)
        return schema.get("type") == "integer" and (name == "id" or name.endswith("_id"))

    async def url(self, endpoint: Endpoint, side: str) -> str:
        path = endpoint.path
        known = self.world.a_ids if side == "a" else self.world.b_ids
        for name in endpoint.path_params:
            if self.is_resource_id(endpoint, name):
                value: Any = MISSING_ID
                if side != "missing":
                    value = known.get(name) or await self._discovered(endpoint, side) or MISSING_ID
            else:
                value = sample(self._param_schema(endpoint, name) or {"type": "string"}, self.spec)
            path = path.replace("{" + name + "}", str(value))
        return path

    async def send(
        self, endpoint: Endpoint, headers: dict[str, str], side: str = "a"
    ) -> httpx.Response:
        params = {
            p["name"]: sample(p.get("schema", {}), self.spec)
            for p in endpoint.operation.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        }
        body = BODIES.get(endpoint.key)
        content = endpoint.operation.get("requestBody", {}).get("content", {})
        if body is None and "application/json" in content:
            body = sample(content["application/json"].get("schema", {}), self.spec)
        return await self.client.request(
            endpoint.method,
            await self.url(endpoint, side),
            params=params,
            json=body,
            headers=headers,
        )


async def test_every_endpoint_is_authorised_and_isolated(
    client: httpx.AsyncClient, app: FastAPI, mailbox: Mailbox
) -> None:
    world = await _world(client, app, mailbox)
    spec = app.openapi()
    probe = Prober(client, spec, world)
    table = endpoints(app)
    problems: list[str] = []

    def expect(ok: bool, who: str, endpoint: Endpoint, response: httpx.Response) -> None:
        if not ok:
            problems.append(
                f"{who}: {endpoint.method} {endpoint.path} -> {response.status_code} "
                f"{response.text[:160]}"
            )

    # The table itself: every /api/v1 endpoint is public by name or protected by a principal
    # dependency that states a requirement; every public name still exists.
    keys = {e.key for e in table}
    assert keys >= PUBLIC, f"stale public entries: {PUBLIC - keys}"
    assert keys >= SELF_SERVICE, f"stale self-service entries: {SELF_SERVICE - keys}"
    for endpoint in table:
        if endpoint.key in PUBLIC:
            assert not endpoint.protected, f"{endpoint.key} is listed public but checks a token"
        elif endpoint.path.startswith(("/api/v1", "/api/v2", "/prometheus/api/v1")):
            assert endpoint.protected, (
                f"{endpoint.key} has no authentication and is not listed public"
            )
            assert endpoint.requirements, f"{endpoint.key} authenticates but requires no role"
    protected = [e for e in table if e.protected]
    assert len(protected) >= 30

    no_token = {"X-Request-ID": "isolation"}
    for endpoint in protected:
        for who, headers in (
            ("no token", no_token),
            ("expired token", bearer(world.expired_token)),
            ("revoked session", bearer(world.revoked_token)),
        ):
            response = await probe.send(endpoint, headers)
            expect(response.status_code == 401, who, endpoint, response)

        for name, scopes in (
            ("ingest-only", frozenset({Scope.ingest})),
            ("read-only", frozenset({Scope.read})),
            ("admin", frozenset(Scope)),
        ):
            if not endpoint.admits_key(scopes):
                response = await probe.send(endpoint, bearer(world.keys[name]))
                expect(response.status_code == 403, f"{name} API key", endpoint, response)

        if endpoint.method in WRITE_METHODS and endpoint.key not in SELF_SERVICE | READS_BY_POST:
            response = await probe.send(endpoint, world.a_roles["viewer"].headers)
            expect(response.status_code == 403, "viewer write", endpoint, response)

    callers = {role: account.headers for role, account in world.a_roles.items()}
    callers["A admin API key"] = bearer(world.keys["admin"])
    for endpoint in protected:
        strict = endpoint.path_params and all(
            probe.is_resource_id(endpoint, n) for n in endpoint.path_params
        )
        if not strict and endpoint.method != "GET":
            continue
        for who, headers in callers.items():
            response = await probe.send(endpoint, headers, side="b")
            if strict:
                refused = response.status_code in (403, 404)
                if response.status_code == 422:
                    # The body broke a rule its schema cannot state; then B's id must at least
                    # answer exactly like an id that does not exist.
                    missing = await probe.send(endpoint, headers, side="missing")
                    refused = (missing.status_code, missing.text) == (422, response.text)
                expect(refused, f"A {who} on B's ids", endpoint, response)
            expect(MARK not in readable(response), f"A {who} saw B's data", endpoint, response)

    # B's own report names B to B, so the check above would see a report that leaked.
    own = await client.get("/api/v1/reports/reliability.pdf", headers=world.b_owner.headers)
    assert own.status_code == 200 and MARK in readable(own)

    # Nothing of B changed along the way.
    assert (
        await client.get("/api/v1/services", headers=bearer(world.keys["b-ingest"]))
    ).status_code == 200
    b_profile = (await client.get("/api/v1/profile", headers=world.b_owner.headers)).json()
    assert b_profile["org"]["name"] == f"Org B {MARK}"
    assert [
        m["role"]
        for m in (
            await client.get("/api/v1/orgs/current/members", headers=world.b_owner.headers)
        ).json()
    ] == ["owner", "member"]

    assert not problems, "\n".join(problems)
