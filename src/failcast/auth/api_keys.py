"""API key format and hashing: `fc_<prefix>_<secret>`; only the prefix and SHA-256 are kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

KEY_MARK = "fc_"


class Scope(StrEnum):
    ingest = "ingest"
    read = "read"
    write = "write"
    admin = "admin"


@dataclass(frozen=True, slots=True)
class NewKey:
    prefix: str
    secret: str
    key_hash: str

    @property
    def token(self) -> str:
        return f"{KEY_MARK}{self.prefix}_{self.secret}"


def hash_secret(secret: str) -> str:
    # The secret has 190 bits of entropy, so a fast hash is enough; argon2 would only slow
    # every ingest request down.
    return hashlib.sha256(secret.encode()).hexdigest()


def generate() -> NewKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(prefix=prefix, secret=secret, key_hash=hash_secret(secret))


def split(token: str) -> tuple[str, str] | None:
    """Return (prefix, secret) of a well-formed key, or None."""
    if not token.startswith(KEY_MARK):
        return None
    prefix, sep, secret = token[len(KEY_MARK) :].partition("_")
    if not sep or not prefix or not secret:
        return None
    return prefix, secret


def matches(key_hash: str, secret: str) -> bool:
    return hmac.compare_digest(key_hash, hash_secret(secret))
