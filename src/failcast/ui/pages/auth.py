"""Sign-in, sign-up, email verification, password reset and accepting an invitation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui.api import ApiClient, ApiError
from failcast.ui.layout import api_for, head, page, sign_in

VERIFY_PATH = "/api/v1/email/verify"
RESET_REQUEST_PATH = "/api/v1/password/forgot"
RESET_CONFIRM_PATH = "/api/v1/password/reset"


@contextmanager
def auth_card(title: str, subtitle: str) -> Iterator[None]:
    head()
    outer = ui.column().classes("w-full min-h-screen items-center justify-center p-4")
    with outer, ui.column().classes("fc-auth gap-4"):
        with ui.row().classes("items-center gap-2"):
            ui.icon("radar", color="primary").classes("text-3xl")
            ui.label("Failcast").classes("text-2xl font-bold")
        with ui.card().classes("fc-card w-full p-6 gap-3"):
            ui.label(title).classes("fc-title")
            ui.label(subtitle).classes("fc-muted text-sm")
            yield


def _error_text(exc: ApiError) -> str:
    if exc.status == 429:
        return "Too many attempts; wait a minute and try again."
    return exc.message


def _safe_next(next_path: str | None) -> str:
    # Only same-site paths: an open redirect would let a crafted link send people elsewhere.
    if next_path and next_path.startswith("/") and not next_path.startswith("//"):
        return next_path
    return "/"


def _finish(body: dict[str, Any], next_path: str | None) -> None:
    sign_in(str(body["access_token"]), body.get("refresh_token"))
    ui.navigate.to(_safe_next(next_path))


def register_auth_pages() -> None:
    @page("/login", title="Sign in · Failcast")
    async def login(request: Request, next: str | None = None, expired: str | None = None) -> None:
        api = api_for(request, token="")
        with auth_card("Sign in", "Predict failures before your users notice."):
            if expired:
                ui.label("Your session has ended; sign in again.").classes("text-warning text-sm")
            email = ui.input("Email").props("autocomplete=email type=email").classes("w-full")
            password = (
                ui.input("Password", password=True, password_toggle_button=True)
                .props("autocomplete=current-password")
                .classes("w-full")
            )
            error = ui.label("").classes("text-negative text-sm").mark("auth-error")
            error.visible = False

            async def submit() -> None:
                error.visible = False
                try:
                    body = await api.post(
                        "/api/v1/login", {"email": email.value, "password": password.value}
                    )
                except ApiError as exc:
                    error.text = _error_text(exc)
                    error.visible = True
                    return
                _finish(body, next)

            password.on("keydown.enter", submit)
            ui.button("Sign in", on_click=submit).classes("w-full").mark("sign-in")
            with ui.row().classes("w-full justify-between text-sm"):
                ui.link("Create an account", "/signup")
                ui.link("Forgot password?", "/reset")

    @page("/signup", title="Create account · Failcast")
    async def signup(request: Request) -> None:
        api = api_for(request, token="")
        with auth_card("Create your account", "You will own a new organisation."):
            name = ui.input("Your name").props("autocomplete=name").classes("w-full")
            email = ui.input("Work email").props("autocomplete=email type=email").classes("w-full")
            org = ui.input("Organisation").classes("w-full")
            password = (
                ui.input("Password (12+ characters)", password=True, password_toggle_button=True)
                .props("autocomplete=new-password")
                .classes("w-full")
            )
            error = ui.label("").classes("text-negative text-sm").mark("auth-error")
            error.visible = False

            async def submit() -> None:
                error.visible = False
                body = {
                    "email": email.value,
                    "password": password.value,
                    "name": name.value,
                    "org_name": org.value,
                }
                try:
                    answer = await api.post("/api/v1/register", body)
                except ApiError as exc:
                    error.text = _error_text(exc)
                    error.visible = True
                    return
                ui.notify("Welcome to Failcast", type="positive")
                _finish(answer, "/")

            ui.button("Create account", on_click=submit).classes("w-full").mark("sign-up")
            with ui.row().classes("text-sm"):
                ui.label("Already have an account?").classes("fc-muted")
                ui.link("Sign in", "/login")

    @page("/verify", title="Verify email · Failcast")
    async def verify(request: Request, token: str = "") -> None:
        api = api_for(request, token="")
        with auth_card("Verify your email", "Confirming the link from your inbox."):
            result = ui.label("").classes("text-sm").mark("verify-result")
            if not token:
                result.text = "The link is missing its token; open it from the email again."
            else:
                try:
                    answer = await api.get(VERIFY_PATH, {"token": token})
                    result.text = f"{answer['email']} is verified. You can sign in."
                except ApiError as exc:
                    result.text = f"Could not verify: {_error_text(exc)}"
            ui.link("Go to sign in", "/login")

    @page("/reset", title="Reset password · Failcast")
    async def reset(request: Request, token: str = "") -> None:
        api = api_for(request, token="")
        with auth_card("Reset your password", "We will email you a link."):
            message = ui.label("").classes("text-sm").mark("reset-result")
            if token:
                try:
                    check = await api.get(RESET_CONFIRM_PATH, {"token": token})
                except ApiError as exc:
                    message.text = f"This link cannot be used: {_error_text(exc)}"
                    ui.link("Ask for a new link", "/reset")
                    return
                ui.label(f"New password for {check['email']}").classes("text-sm")
                password = (
                    ui.input(
                        "New password (12+ characters)", password=True, password_toggle_button=True
                    )
                    .props("autocomplete=new-password")
                    .classes("w-full")
                )

                async def confirm() -> None:
                    try:
                        await api.post(
                            RESET_CONFIRM_PATH, {"token": token, "password": password.value}
                        )
                    except ApiError as exc:
                        message.text = _error_text(exc)
                        return
                    ui.notify("Password changed; sign in with it now.", type="positive")
                    ui.navigate.to("/login")

                ui.button("Set password", on_click=confirm).classes("w-full").mark("set-password")
            else:
                email = ui.input("Email").classes("w-full")

                async def send() -> None:
                    try:
                        await api.post(RESET_REQUEST_PATH, {"email": email.value})
                    except ApiError as exc:
                        message.text = _error_text(exc)
                        return
                    message.text = "If that address has an account, a reset link is on its way."

                ui.button("Send reset link", on_click=send).classes("w-full")
            ui.link("Back to sign in", "/login")

    @page("/invite", title="Join organisation · Failcast")
    async def invite(request: Request, token: str = "") -> None:
        api = api_for(request)
        with auth_card("Join an organisation", "Accept the invitation you received."):
            if not token:
                ui.label("The link is missing its token; open it from the email again.")
                return
            try:
                view = await api.backend.client(None).get(f"/api/v1/invitations/{token}")
            except ApiError as exc:
                ui.label(f"This invitation cannot be used: {_error_text(exc)}").mark(
                    "invite-result"
                )
                return
            ui.label(
                f"{view['invited_by'] or 'Someone'} invited {view['email']} to join"
                f" {view['org_name']} as {view['role']}."
            ).classes("text-sm").mark("invite-view")
            if not api.token:
                _join_as_new(api, token)
                ui.link("I have an account: sign in", f"/login?next=/invite?token={token}")
                return
            result = ui.label("").mark("invite-result")
            with ui.row().classes("w-full gap-2"):
                ui.button("Join", on_click=lambda: _accept(api, token, result)).mark("accept")
                ui.button("Decline", on_click=lambda: _decline(api, token, result)).props("flat")


def _join_as_new(api: ApiClient, token: str) -> None:
    ui.label("New here? Set a password to join.").classes("text-sm")
    name = ui.input("Your name").classes("w-full")
    password = ui.input(
        "Password (12+ characters)", password=True, password_toggle_button=True
    ).classes("w-full")
    error = ui.label("").classes("text-negative text-sm").mark("auth-error")

    async def join() -> None:
        body = {"token": token, "password": password.value, "name": name.value}
        try:
            answer = await api.post("/api/v1/invitations/register", body)
        except ApiError as exc:
            error.text = _error_text(exc)
            return
        _finish(answer, "/")

    ui.button("Create my account and join", on_click=join).classes("w-full").mark("join")


async def _accept(api: ApiClient, token: str, result: ui.label) -> None:
    try:
        org = await api.post("/api/v1/invitations/accept", {"token": token})
        # Joining does not move the session; switch to the new organisation straight away.
        tokens = await api.post(f"/api/v1/orgs/{org['id']}/switch")
    except ApiError as exc:
        result.text = f"Could not accept: {_error_text(exc)}"
        return
    sign_in(str(tokens["access_token"]), tokens.get("refresh_token"))
    result.text = f"You have joined {org['name']}. Opening the overview…"
    ui.navigate.to("/")


async def _decline(api: ApiClient, token: str, result: ui.label) -> None:
    try:
        await api.post("/api/v1/invitations/decline", {"token": token})
    except ApiError as exc:
        result.text = f"Could not decline: {_error_text(exc)}"
        return
    result.text = "Invitation declined."
