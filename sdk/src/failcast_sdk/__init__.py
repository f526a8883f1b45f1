"""Failcast SDK: push metrics and ML prediction events to a Failcast server.

    from failcast_sdk import Client

    with Client("https://failcast.example.com", api_key="fc_...") as failcast:
        failcast.log_metric("checkout", "latency_p99_ms", 182.0, labels={"region": "eu"})
        churn = failcast.monitor_model("churn-model")
        churn.log_prediction("user-42", {"tenure": 3}, 0.81)
        churn.log_label("user-42", 1)  # later, when the truth is known

Events are batched and sent in the background (`Client`: a thread; `AsyncClient`: a task),
retried with exponential backoff on network errors, 429 and 5xx (honouring Retry-After).
The buffer is bounded; events that do not fit are dropped and counted in `stats.dropped`.

Exceptions (raised by `flush()` and `close()`; background failures land in `stats`):

    FailcastError
    ├── TransportError          the server could not be reached, after every retry
    └── APIError                the server answered with an error status (.status_code, .detail)
        ├── AuthenticationError     401 / 403: bad, revoked or under-scoped API key
        ├── RequestRejected         other 4xx: invalid data, never retried
        └── ServerError             5xx / 429 still answered after every retry

`log_metric` raises ValueError at once for names or values the server would refuse.
"""

from failcast_sdk._async_client import AsyncClient
from failcast_sdk._client import Client
from failcast_sdk._core import Retry, Stats
from failcast_sdk._errors import (
    APIError,
    AuthenticationError,
    FailcastError,
    RequestRejected,
    ServerError,
    TransportError,
)
from failcast_sdk._ml import ModelMonitor

__version__ = "0.1.0"
__all__ = [
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "FailcastError",
    "ModelMonitor",
    "RequestRejected",
    "Retry",
    "ServerError",
    "Stats",
    "TransportError",
    "__version__",
]
