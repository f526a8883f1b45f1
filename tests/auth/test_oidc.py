"""Sign-in with ID tokens, verified against a JWKS served by a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from factories import Account, bearer, login

from failcast.auth.oidc import OidcVerifier
from failcast.config import OidcProvider
from failcast.deps import services_of

ISSUER = "https://securetoken.google.com/failcast-test"
AUDIENCE = "failcast-test"
KID = "key-1"


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return _private_key()


@pytest.fixture(scope="module")
def jwks_url(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def provider(app: Any, jwks_url: str) -> str:
    config = OidcProvider(name="firebase", issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_url)
    services_of(app).security.oidc = OidcVerifier([config])
    return "firebase"


def id_token(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "firebase-uid-1",
        "email": "Lin@Example.com",
        "email_verified": True,
        "name": "Lin",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=30)).timestamp()),
    } | overrides
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


async def _sign_in(client: httpx.AsyncClient, provider: str, token: str) -> httpx.Response:
    return await client.post("/api/v1/login/oidc", json={"provider": provider, "id_token": token})


async def test_a_good_id_token_creates_the_account_then_signs_into_it(
    client: httpx.AsyncClient, provider: str, signing_key: rsa.RSAPrivateKey
) -> None:
    first = await _sign_in(client, provider, id_token(signing_key))
    assert first.status_code == 200, first.text
    profile = (
        await client.get("/api/v1/profile", headers=bearer(first.json()["access_token"]))
    ).json()
    assert profile["user"]["email"] == "lin@example.com"
    assert profile["user"]["email_verified_at"] is not None
    assert profile["org"]["name"] == "lin's organisation"
    assert profile["org"]["role"] == "owner"

    again = await _sign_in(client, provider, id_token(signing_key))
    profile2 = (
        await client.get("/api/v1/profile", headers=bearer(again.json()["access_token"]))
    ).json()
    assert profile2["user"]["id"] == profile["user"]["id"]
    sessions = (
        await client.get("/api/v1/sessions", headers=bearer(again.json()["access_token"]))
    ).json()
    assert {s["method"] for s in sessions} == {"oidc:firebase"}


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"aud": "someone-else"}, "invalid ID token"),
        ({"iss": "https://evil.example"}, "invalid ID token"),
        ({"exp": int(datetime.now(UTC).timestamp()) - 120}, "ID token expired"),
        ({"email_verified": False}, "the identity provider has not verified this email address"),
    ],
)
async def test_bad_claims_are_refused(
    client: httpx.AsyncClient,
    provider: str,
    signing_key: rsa.RSAPrivateKey,
    change: dict[str, Any],
    detail: str,
) -> None:
    response = await _sign_in(client, provider, id_token(signing_key, **change))
    assert response.status_code == 401
    assert response.json()["detail"] == detail


async def test_a_token_signed_by_another_key_is_refused(
    client: httpx.AsyncClient, provider: str
) -> None:
    response = await _sign_in(client, provider, id_token(_private_key()))
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid ID token"


async def test_symmetric_and_unknown_providers_are_refused(
    client: httpx.AsyncClient, provider: str, signing_key: rsa.RSAPrivateKey
) -> None:
    forged = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "email": "x@example.com"},
        "a-shared-secret-a-shared-secret-00",
        algorithm="HS256",
        headers={"kid": KID},
    )
    assert (await _sign_in(client, provider, forged)).status_code == 401
    unknown = await _sign_in(client, "okta", id_token(signing_key))
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "unknown identity provider"


async def test_an_existing_account_is_linked_by_verified_email(
    client: httpx.AsyncClient, provider: str, signing_key: rsa.RSAPrivateKey, account: Account
) -> None:
    token = id_token(signing_key, email=account.email, sub="uid-owner")
    response = await _sign_in(client, provider, token)
    assert response.status_code == 200
    profile = (
        await client.get("/api/v1/profile", headers=bearer(response.json()["access_token"]))
    ).json()
    assert profile["user"]["id"] == account.user_id
    assert profile["org"]["id"] == account.org_id
    # The address was never confirmed, so the password set by whoever registered it is dropped
    # and their sessions end: the provider just proved someone owns the address.
    assert (await login(client, account.email)).status_code == 401
    assert (await client.get("/api/v1/profile", headers=account.headers)).status_code == 401
