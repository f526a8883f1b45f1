"""The first-run snippets that send one sample with the caller's own key."""

from __future__ import annotations

import shlex


def ingest_curl(public_url: str, api_key: str, service: str = "checkout") -> str:
    """A curl command that sends one sample with the caller's own key."""
    body = (
        '{"samples": [{"service": "' + service + '", "metric": "latency_p99_ms", '
        '"value": 42.0, "ts": "\'"$(date +%s)"\'"}]}'
    )
    return (
        f"curl -X POST {shlex.quote(public_url.rstrip('/') + '/api/v1/metrics')} \\\n"
        f"  -H {shlex.quote('Authorization: Bearer ' + api_key)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'"
    )


def ingest_python(public_url: str, api_key: str, service: str = "checkout") -> str:
    """The same sample sent from Python with httpx."""
    return (
        "import time, httpx\n\n"
        "httpx.post(\n"
        f"    {public_url.rstrip('/') + '/api/v1/metrics'!r},\n"
        f"    headers={{'Authorization': 'Bearer {api_key}'}},\n"
        f"    json={{'samples': [{{'service': {service!r}, 'metric': 'latency_p99_ms',\n"
        "                         'value': 42.0, 'ts': time.time()}]},\n"
        ").raise_for_status()"
    )
