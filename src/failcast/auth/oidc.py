"""Verification of OIDC ID tokens (Firebase Authentication, Google, Auth0, Keycloak) against
each provider's published signing keys."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import jwt
from jwt import PyJWKClient

from failcast.config import OidcProvider
from failcast.errors import Unauthorized

# Symmetric algorithms are never accepted: the audience would have to share a secret with us.
_ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
_KEY_CACHE_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Identity:
    """A person as an identity provider vouches for them."""

    provider: str
    subject: str
    email: str
    name: str


class OidcVerifier:
    """Checks signature, issuer, audience, expiry and a verified email of ID tokens."""

    def __init__(self, providers: list[OidcProvider]) -> None:
        self.providers = {p.name: p for p in providers}
        # PyJWKClient caches the key set and fetches it again when a token names a key id it
        # does not know, so providers can rotate their keys.
        self._clients = {
            p.name: PyJWKClient(
                p.jwks_url, cache_keys=True, lifespan=_KEY_CACHE_SECONDS, timeout=10
            )
            for p in providers
        }

    async def verify(self, provider: str, id_token: str) -> Identity:
        config = self.providers.get(provider)
        if config is None:
            raise Unauthorized("unknown identity provider")
        algorithms = [a for a in config.algorithms if a in _ASYMMETRIC]
        try:
            header = jwt.get_unverified_header(id_token)
            if header.get("alg") not in algorithms:
                raise Unauthorized("invalid ID token")
            key = await asyncio.to_thread(
                self._clients[provider].get_signing_key_from_jwt, id_token
            )
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=algorithms,
                audience=config.audience,
                issuer=config.issuer,
                leeway=30,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("ID token expired") from exc
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthorized("the identity provider's keys could not be fetched") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("invalid ID token") from exc
        email = claims.get("email")
        verified = claims.get("email_verified")
        if not isinstance(email, str) or "@" not in email:
            raise Unauthorized("the ID token carries no email address")
        if verified is not True and verified != "true":
            raise Unauthorized("the identity provider has not verified this email address")
        return Identity(
            provider=provider,
            subject=str(claims["sub"]),
            email=email.lower(),
            name=str(claims.get("name") or ""),
        )
