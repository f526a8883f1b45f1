from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from factories import PASSWORD, Account, FakeClock, Mailbox, bearer, delivered, login, register
from factories import clock as clock
from factories import mailbox as mailbox

NEW_PASSWORD = "tangerine submarine orchestra"


def _api(link: str, page: str, endpoint: str) -> str:
    """The endpoint a mailed dashboard link's page calls, with the link's own token."""
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == "http://localhost:8000"
    assert parts.path == page
    return f"{endpoint}?{parts.query}"


def _verify(link: str) -> str:
    return _api(link, "/app/verify", "/api/v1/email/verify")


def _reset(link: str) -> str:
    return _api(link, "/app/reset", "/api/v1/password/reset")


async def test_registration_mails_a_confirmation_link_that_works_once(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox
) -> None:
    account = await register(client, "ada@example.com")
    await delivered(app)
    [message] = mailbox.to("ada@example.com")
    assert message["Subject"] == "Confirm your email address for Failcast"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    link = mailbox.link("ada@example.com", "/app/verify")
    assert link in text.get_content()
    assert link.replace("&", "&amp;") in html.get_content()

    before = (await client.get("/api/v1/profile", headers=account.headers)).json()
    assert before["user"]["email_verified_at"] is None
    followed = await client.get(_verify(link))
    assert followed.status_code == 200
    assert followed.json()["email"] == "ada@example.com"
    after = (await client.get("/api/v1/profile", headers=account.headers)).json()
    assert after["user"]["email_verified_at"] is not None

    again = await client.get(_verify(link))
    assert again.status_code == 422
    assert again.json()["detail"] == [
        {"field": "token", "msg": "this link is invalid or has expired"}
    ]


async def test_a_confirmation_link_can_be_requested_again_and_expires(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account, clock: FakeClock
) -> None:
    response = await client.post("/api/v1/email/verification", headers=account.headers)
    assert response.status_code == 202
    await delivered(app)
    assert len(mailbox.to(account.email)) == 2
    link = mailbox.link(account.email, "/app/verify")
    clock.advance(days=2, seconds=1)
    assert (await client.get(_verify(link))).status_code == 422


async def test_password_reset_by_mailed_link(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account
) -> None:
    known = await client.post("/api/v1/password/forgot", json={"email": account.email})
    unknown = await client.post("/api/v1/password/forgot", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    await delivered(app)
    assert mailbox.to("nobody@example.com") == []
    [reset_mail] = [m for m in mailbox.to(account.email) if "Reset" in m["Subject"]]
    assert reset_mail.get_body(preferencelist=("html",)) is not None
    link = mailbox.link(account.email, "/app/reset")

    check = await client.get(_reset(link))
    assert check.status_code == 200
    assert check.json() == {"email": account.email}
    token = urlsplit(link).query.removeprefix("token=")

    weak = await client.post(
        "/api/v1/password/reset", json={"token": token, "password": "password123456"}
    )
    assert weak.status_code == 422
    assert "too common" in weak.text

    done = await client.post(
        "/api/v1/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 200
    assert (await login(client, account.email, PASSWORD)).status_code == 401
    assert (await login(client, account.email, NEW_PASSWORD)).status_code == 200
    # Every earlier session ended, and the link is spent.
    assert (await client.get("/api/v1/profile", headers=account.headers)).status_code == 401
    reuse = await client.post(
        "/api/v1/password/reset", json={"token": token, "password": "another fine passphrase"}
    )
    assert reuse.status_code == 422


async def test_reset_links_expire_after_an_hour(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account, clock: FakeClock
) -> None:
    await client.post("/api/v1/password/forgot", json={"email": account.email})
    await delivered(app)
    link = mailbox.link(account.email, "/app/reset")
    clock.advance(minutes=61)
    assert (await client.get(_reset(link))).status_code == 422


async def test_reset_mails_to_one_address_are_capped(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account
) -> None:
    for _ in range(5):
        response = await client.post("/api/v1/password/forgot", json={"email": account.email})
        assert response.status_code == 202
    await delivered(app)
    assert len([m for m in mailbox.to(account.email) if "Reset" in m["Subject"]]) == 3


async def test_password_policy_at_registration(client: httpx.AsyncClient) -> None:
    async def problems(email: str, password: str) -> list[dict[str, Any]]:
        response = await client.post(
            "/api/v1/register", json={"email": email, "password": password, "org_name": "X"}
        )
        assert response.status_code == 422
        detail: list[dict[str, Any]] = response.json()["detail"]
        return detail

    [common] = await problems("a@example.com", "Password2024!")
    assert common["field"] == "body.password"
    assert "too common" in common["msg"]
    [own_name] = await problems("grace.hopper@example.com", "i am grace.hopper, hi")
    assert "email" in own_name["msg"]


async def test_changing_the_password_ends_other_sessions(
    client: httpx.AsyncClient, account: Account
) -> None:
    other = (await login(client, account.email)).json()
    wrong = await client.post(
        "/api/v1/password/change",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=account.headers,
    )
    assert wrong.status_code == 422
    response = await client.post(
        "/api/v1/password/change",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=account.headers,
    )
    assert response.status_code == 204
    assert (await client.get("/api/v1/profile", headers=account.headers)).status_code == 200
    other_profile = await client.get("/api/v1/profile", headers=bearer(other["access_token"]))
    assert other_profile.status_code == 401
    assert (await login(client, account.email, NEW_PASSWORD)).status_code == 200


def test_without_the_dashboard_links_point_at_the_endpoints() -> None:
    from factories import make_settings

    from failcast.auth.recovery import link

    with_pages = make_settings()
    api_only = make_settings(dashboard_enabled=False)
    path = "/api/v1/password/reset?token=abc"
    assert link(with_pages, path) == "http://localhost:8000/app/reset?token=abc"
    assert link(api_only, path) == "http://localhost:8000/api/v1/password/reset?token=abc"
    # An invitation carries its token in the path; its page takes it as a query parameter.
    assert link(with_pages, "/api/v1/invitations/t") == "http://localhost:8000/app/invite?token=t"
    assert link(api_only, "/api/v1/invitations/t") == "http://localhost:8000/api/v1/invitations/t"
    # Links without a page of their own are mailed as they are.
    assert link(with_pages, "/api/v1/sessions") == "http://localhost:8000/api/v1/sessions"
