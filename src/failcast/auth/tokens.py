"""Signed tokens (JWT, HS256): access tokens naming a user, an org and a session; and the
single-use action tokens mailed for email verification and password reset."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from failcast.config import Settings
from failcast.errors import Unauthorized, ValidationFailed

ALGORITHM = "HS256"
ISSUER = "failcast"
REFRESH_MARK = "fcr_"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    org_id: int
    # The session's random key, not its row id: a valid token cannot be made by counting.
    session_key: str
    expires_at: datetime


def issue_access_token(
    settings: Settings, user_id: int, org_id: int, session_key: str
) -> tuple[str, int]:
    """Return a token and its lifetime in seconds."""
    now = datetime.now(UTC)
    ttl = int(settings.access_token_ttl.total_seconds())
    claims = {
        "sub": str(user_id),
        "org": org_id,
        "sid": session_key,
        "iss": ISSUER,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + ttl,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM), ttl


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "org", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token") from exc
    sid, sub, org = claims.get("sid"), claims.get("sub"), claims.get("org")
    if claims.get("typ") != "access" or not isinstance(sid, str) or not sid:
        raise Unauthorized("invalid token")
    if not (isinstance(sub, str) and sub.isdigit() and isinstance(org, int)):
        raise Unauthorized("invalid token")
    return AccessClaims(
        user_id=int(sub),
        org_id=org,
        session_key=sid,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )


def new_opaque_token(mark: str = REFRESH_MARK) -> tuple[str, str]:
    """A random token and the SHA-256 under which it is stored."""
    token = mark + secrets.token_urlsafe(32)
    return token, hash_opaque(token)


def hash_opaque(token: str) -> str:
    # The token carries 256 bits of entropy, so a plain hash resists guessing as well as a
    # slow one and keeps every refresh cheap.
    return hashlib.sha256(token.encode()).hexdigest()


class Purpose(StrEnum):
    verify_email = "verify_email"
    reset_password = "reset_password"


@dataclass(frozen=True, slots=True)
class ActionClaims:
    purpose: Purpose
    user_id: int
    email: str
    state: str


def state_of(*parts: object) -> str:
    """A short fingerprint of the account state a token is bound to.

    Binding a reset token to the password hash (and a verification token to the unverified
    state) makes each token single-use without storing it: using it changes the state.
    """
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def issue_action_token(
    settings: Settings,
    purpose: Purpose,
    *,
    user_id: int,
    email: str,
    state: str,
    now: datetime,
    ttl: timedelta,
) -> str:
    claims = {
        "sub": str(user_id),
        "email": email,
        "st": state,
        "iss": ISSUER,
        "aud": f"failcast:{purpose.value}",
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "typ": purpose.value,
    }
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)


def decode_action_token(
    settings: Settings, token: str, purpose: Purpose, *, now: datetime
) -> ActionClaims:
    """The claims of a valid token for `purpose`, or a 422 saying the link is unusable."""
    invalid = ValidationFailed([{"field": "token", "msg": "this link is invalid or has expired"}])
    try:
        # Expiry is checked against the injected clock below rather than the wall clock.
        claims = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=f"failcast:{purpose.value}",
            options={"require": ["sub", "exp", "aud"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise invalid from exc
    if claims.get("typ") != purpose.value or claims["exp"] <= now.timestamp():
        raise invalid
    return ActionClaims(
        purpose=purpose,
        user_id=int(claims["sub"]),
        email=str(claims.get("email", "")),
        state=str(claims.get("st", "")),
    )
