from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import failcast_sdk
import pytest
from failcast_sdk import Client, Retry


def test_public_surface_is_pinned() -> None:
    assert failcast_sdk.__all__ == [
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
    for name in failcast_sdk.__all__:
        assert hasattr(failcast_sdk, name)


def test_exception_hierarchy_matches_the_docstring() -> None:
    sdk = failcast_sdk
    assert issubclass(sdk.TransportError, sdk.FailcastError)
    assert issubclass(sdk.APIError, sdk.FailcastError)
    for cls in (sdk.AuthenticationError, sdk.RequestRejected, sdk.ServerError):
        assert issubclass(cls, sdk.APIError)
        assert cls.__name__ in sdk.__doc__


def test_the_sdk_imports_neither_failcast_nor_anything_heavy() -> None:
    code = (
        "import sys, failcast_sdk; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'failcast', 'numpy', 'pandas', 'sqlalchemy', 'fastapi', 'pydantic'}); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_retry_after_is_honoured_and_capped() -> None:
    retry = Retry(backoff=0.5, max_backoff=30)
    assert retry.delay(0, "3") == 3
    assert retry.delay(0, "120") == 30
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 18 <= retry.delay(0, future) <= 20
    # Without the header: 0.5 * 2**n, capped, times a jitter factor in [0.5, 1].
    assert 0.25 <= retry.delay(0) <= 0.5
    assert 2.0 <= retry.delay(3) <= 4.0
    assert 15 <= retry.delay(10) <= 30
    assert 0.25 <= retry.delay(0, "soon") <= 0.5


def test_values_and_names_the_server_would_refuse_raise_at_once() -> None:
    with Client("http://127.0.0.1:9", "fc_x_y") as client:
        for args in (
            ("api", "latency", math.nan),
            ("api", "latency", math.inf),
            ("api", "bad-name", 1.0),
            ("bad service", "latency", 1.0),
            ("api", "latency", True),
        ):
            with pytest.raises(ValueError):
                client.log_metric(*args)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            client.log_metric("api", "latency", 1.0, labels={"bad-label": "x"})
        assert client.pending == 0
    with pytest.raises(ValueError):
        Client("http://x", "k", batch_size=0)
