"""A client cannot choose its own address with X-Forwarded-For: only the configured proxy's
header counts, so the per-address sign-in limit and the audit log see the real client.

The server runs under uvicorn with the options `failcast up` and `failcast api` use."""

from __future__ import annotations

import httpx
from factories import PASSWORD, serving

from failcast.config import Settings

LIMIT = 5


def _limited(settings: Settings, proxies: list[str]) -> Settings:
    return settings.model_copy(
        update={
            "auth_rate_limit": LIMIT,
            "forwarded_allow_ips": proxies,
            "dashboard_enabled": False,
        }
    )


def _sign_in(http: httpx.Client, forwarded_for: str, email: str) -> int:
    response = http.post(
        "/api/v1/login",
        json={"email": email, "password": "not the password"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


def _attempts(http: httpx.Client, forwarded_for: list[str], first_email: str) -> list[int]:
    # Distinct accounts after the first, so that only the per-address limit can say 429.
    emails = [first_email] + [f"nobody{i}@example.com" for i in range(1, len(forwarded_for))]
    return [_sign_in(http, xff, email) for xff, email in zip(forwarded_for, emails, strict=True)]


def test_a_spoofed_header_from_a_direct_client_does_not_reset_the_limit(
    settings: Settings,
) -> None:
    # The proxy is elsewhere; this client talks to the server directly and lies.
    with (
        serving(_limited(settings, ["10.9.9.9"])) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        owner = http.post(
            "/api/v1/register",
            json={"email": "owner@example.com", "password": PASSWORD, "org_name": "A"},
        ).json()
        spoofed = [f"203.0.113.{i}" for i in range(LIMIT + 3)]
        assert _attempts(http, spoofed, "owner@example.com") == [401] * LIMIT + [429] * 3
        audit = http.get(
            "/api/v1/audit",
            params={"action": "auth.login_failed"},
            headers={"Authorization": f"Bearer {owner['access_token']}"},
        ).json()
    # The audit log holds the address the connection came from, not the one claimed.
    assert [event["ip"] for event in audit["events"]] == ["127.0.0.1"]


def test_the_proxys_address_for_the_client_is_the_one_that_counts(settings: Settings) -> None:
    # This client stands for the proxy (it connects from 127.0.0.1, the trusted address). An
    # appending proxy passes on whatever the client sent, then the address it saw.
    with (
        serving(_limited(settings, ["127.0.0.1"])) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        real = "198.51.100.7"
        spoofed = [f"203.0.113.{i}, {real}" for i in range(LIMIT + 2)]
        assert _attempts(http, spoofed, "nobody0@example.com") == [401] * LIMIT + [429] * 2
        # Another real client behind the same proxy is not limited by the first one.
        assert _sign_in(http, "203.0.113.99, 198.51.100.8", "other@example.com") == 401
        # The session records the address the proxy reported.
        http.post(
            "/api/v1/register",
            json={"email": "someone@example.com", "password": PASSWORD, "org_name": "B"},
            headers={"X-Forwarded-For": "203.0.113.1, 198.51.100.9"},
        )
        signed_in = http.post(
            "/api/v1/login",
            json={"email": "someone@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.2, 198.51.100.9"},
        ).json()
        sessions = http.get(
            "/api/v1/sessions",
            headers={"Authorization": f"Bearer {signed_in['access_token']}"},
        ).json()
    assert {s["ip"] for s in sessions} == {"198.51.100.9"}
