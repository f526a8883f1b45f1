"""What makes a password acceptable: length, not a common password, not the email's name."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

MIN_LENGTH = 12
MAX_LENGTH = 1024
_EDGE = "0123456789!@#$%^&*()-_=+.,;:?~ "


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    text = files("failcast.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def problems(password: str, email: str | None = None) -> list[str]:
    """Every reason `password` is refused; empty when it is acceptable."""
    found: list[str] = []
    if len(password) < MIN_LENGTH:
        found.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        found.append(f"must be at most {MAX_LENGTH} characters long")
    lowered = password.lower()
    common = common_passwords()
    # "password2024!" is as weak as "password": compare the core without digits and symbols
    # padded onto either end too.
    core = lowered.strip(_EDGE)
    if lowered in common or (core and core in common):
        found.append("is too common; choose a passphrase of several unrelated words")
    elif len(set(lowered)) < 4:
        found.append("repeats too few different characters")
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 3 and local in lowered:
            found.append("must not contain your email address")
    return found
