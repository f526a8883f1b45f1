"""The SDK's exceptions; the tree is drawn in the package docstring."""

from __future__ import annotations


class FailcastError(Exception):
    """Base class of every error the SDK raises."""


class TransportError(FailcastError):
    """The server could not be reached (connection refused, timeout, ...) after every retry."""


class APIError(FailcastError):
    """The server answered with an error status."""

    def __init__(self, status_code: int, detail: object) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


class AuthenticationError(APIError):
    """401 or 403: the API key is missing, wrong, revoked or lacks the ingest scope."""


class RequestRejected(APIError):
    """Another 4xx: the data is invalid and re-sending it would not help."""


class ServerError(APIError):
    """5xx or 429 still answered after every retry."""
