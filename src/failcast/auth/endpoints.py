from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends, Request, Response, status

from failcast.auth import audit, keys, recovery, service, sessions, sso
from failcast.auth.audit import Action
from failcast.auth.principal import CanAdmin, CurrentUser, client_agent, client_ip
from failcast.auth.schemas import (
    AcceptedOut,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    EmailIn,
    LoginIn,
    OidcLoginIn,
    OrgOut,
    PasswordChangeIn,
    ProfileOut,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    ResetCheckOut,
    ResetIn,
    RevokedOut,
    SessionOut,
    TokenOut,
    UserOut,
    VerifiedOut,
)
from failcast.auth.security import SecurityDep, rate_limited
from failcast.auth.sessions import Issued
from failcast.db.transactions import after_commit
from failcast.deps import PasswordsDep, PathId, SessionDep
from failcast.errors import Forbidden
from failcast.kit.responses import errors
from failcast.models import ApiKey, AuthSession, Organization, Role, User

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def org_out(org: Organization, role: Role) -> OrgOut:
    return OrgOut(id=org.id, name=org.name, slug=org.slug, plan=org.plan, role=role)


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def token_out(issued: Issued) -> TokenOut:
    return TokenOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        refresh_expires_in=issued.refresh_expires_in,
    )


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


def _session_out(auth_session: AuthSession, current: int | None) -> SessionOut:
    return SessionOut(
        id=auth_session.id,
        org_id=auth_session.org_id,
        method=auth_session.method,
        user_agent=auth_session.user_agent,
        ip=auth_session.ip,
        created_at=auth_session.created_at,
        last_seen_at=auth_session.last_seen_at,
        expires_at=auth_session.expires_at,
        current=auth_session.id == current,
    )


@router.post(
    "/register",
    response_model=RegisterOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="register",
    dependencies=[Depends(rate_limited("register"))],
    responses=errors(409),
)
async def register(
    body: RegisterIn,
    request: Request,
    session: SessionDep,
    security: SecurityDep,
    passwords: PasswordsDep,
) -> RegisterOut:
    """Create an account and its organisation; the new user owns it and gets a confirmation
    email."""
    user, org = await service.register(
        session,
        passwords,
        email=body.email,
        password=body.password,
        name=body.name,
        org_name=body.org_name,
    )
    issued = await service.start_session(
        session,
        security,
        user,
        org.id,
        ip=client_ip(request),
        user_agent=client_agent(request),
        method="password",
    )
    # The mail names a new account: send it once the account is committed.
    after_commit(session, partial(recovery.send_verification, security, user))
    return RegisterOut(
        **token_out(issued).model_dump(), user=user_out(user), org=org_out(org, Role.owner)
    )


@router.post(
    "/login",
    response_model=TokenOut,
    operation_id="login",
    dependencies=[Depends(rate_limited("login"))],
    responses=errors(401, 429),
)
async def login(
    body: LoginIn,
    request: Request,
    session: SessionDep,
    security: SecurityDep,
    passwords: PasswordsDep,
) -> TokenOut:
    """Exchange an email and password for an access token and a refresh token."""
    issued = await service.login(
        session,
        security,
        passwords,
        email=body.email,
        password=body.password,
        org_id=body.org_id,
        ip=client_ip(request),
        user_agent=client_agent(request),
    )
    return token_out(issued)


@router.post(
    "/login/oidc",
    response_model=TokenOut,
    operation_id="login_oidc",
    dependencies=[Depends(rate_limited("login"))],
    responses=errors(401),
)
async def login_oidc(
    body: OidcLoginIn, request: Request, session: SessionDep, security: SecurityDep
) -> TokenOut:
    """Sign in with an ID token from a configured identity provider (Firebase, Google, Auth0,
    Keycloak); the account is created or linked by its verified email."""
    identity = await security.oidc.verify(body.provider, body.id_token)
    issued = await sso.oidc_login(
        session,
        security,
        identity,
        org_name=body.org_name,
        org_id=body.org_id,
        ip=client_ip(request),
        user_agent=client_agent(request),
    )
    return token_out(issued)


@router.post(
    "/token/refresh",
    response_model=TokenOut,
    operation_id="refresh_token",
    dependencies=[Depends(rate_limited("refresh"))],
    responses=errors(401),
)
async def refresh(
    body: RefreshIn, request: Request, session: SessionDep, security: SecurityDep
) -> TokenOut:
    """Trade a refresh token for a new pair. Each refresh token works once; presenting a spent
    one ends its whole session."""
    issued = await sessions.rotate(
        session,
        security.settings,
        body.refresh_token,
        now=security.now(),
        ip=client_ip(request),
        user_agent=client_agent(request),
    )
    return token_out(issued)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, operation_id="logout")
async def logout(principal: CurrentUser, session: SessionDep, security: SecurityDep) -> Response:
    """End the session of the calling token; its access and refresh tokens stop working."""
    assert principal.user_id is not None and principal.session_id is not None
    await sessions.revoke(
        session, principal.user_id, principal.session_id, "logout", security.now()
    )
    audit.record(
        session, principal.org_id, principal, Action.logout, f"session:{principal.session_id}"
    )
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/logout-all", response_model=RevokedOut, operation_id="logout_all")
async def logout_all(
    principal: CurrentUser, session: SessionDep, security: SecurityDep
) -> RevokedOut:
    """End every session of the signed-in user, on every device, this one included."""
    assert principal.user_id is not None
    count = await sessions.revoke_all(
        session, principal.user_id, "logout everywhere", security.now()
    )
    audit.record(
        session, principal.org_id, principal, Action.logout_all, f"user:{principal.user_id}"
    )
    await session.flush()
    return RevokedOut(revoked=count)


@router.get("/sessions", response_model=list[SessionOut], operation_id="list_sessions")
async def list_sessions(
    principal: CurrentUser, session: SessionDep, security: SecurityDep
) -> list[SessionOut]:
    """The signed-in user's live sessions, most recently used first."""
    assert principal.user_id is not None
    active = await sessions.list_active(session, principal.user_id, security.now())
    return [_session_out(s, principal.session_id) for s in active]


@router.delete("/sessions/{session_id}", response_model=SessionOut, operation_id="revoke_session")
async def revoke_session(
    session_id: PathId, principal: CurrentUser, session: SessionDep, security: SecurityDep
) -> SessionOut:
    """End one of the signed-in user's sessions, e.g. a lost laptop."""
    assert principal.user_id is not None
    revoked = await sessions.revoke(
        session, principal.user_id, session_id, "revoked by user", security.now()
    )
    audit.record(
        session, principal.org_id, principal, Action.session_revoked, f"session:{session_id}"
    )
    await session.flush()
    return _session_out(revoked, principal.session_id)


@router.get("/profile", response_model=ProfileOut, operation_id="get_profile")
async def profile(principal: CurrentUser, session: SessionDep) -> ProfileOut:
    """The signed-in user, the org the token acts in, and every org they belong to."""
    assert principal.user_id is not None
    user = await session.get_one(User, principal.user_id)
    orgs = await service.memberships(session, user.id)
    current = next((org_out(o, r) for o, r in orgs if o.id == principal.org_id), None)
    if current is None:
        raise Forbidden("not a member of that organisation")
    return ProfileOut(user=user_out(user), org=current, orgs=[org_out(o, r) for o, r in orgs])


@router.post(
    "/email/verification",
    response_model=AcceptedOut,
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="send_email_verification",
    dependencies=[Depends(rate_limited("verification"))],
)
async def send_email_verification(
    principal: CurrentUser, session: SessionDep, security: SecurityDep
) -> AcceptedOut:
    """Mail the signed-in user a new link confirming their email address."""
    assert principal.user_id is not None
    user = await session.get_one(User, principal.user_id)
    if user.email_verified_at is not None:
        return AcceptedOut(detail="this email address is already confirmed")
    await recovery.send_verification(security, user)
    return AcceptedOut(detail="a confirmation link is on its way")


@router.get(
    "/email/verify",
    response_model=VerifiedOut,
    operation_id="verify_email",
    dependencies=[Depends(rate_limited("verify"))],
)
async def verify_email(token: str, session: SessionDep, security: SecurityDep) -> VerifiedOut:
    """Confirm an email address: the target of the mailed link. Each link works once."""
    user = await recovery.verify_email(session, security, token)
    assert user.email_verified_at is not None
    return VerifiedOut(email=user.email, email_verified_at=user.email_verified_at)


@router.post(
    "/password/forgot",
    response_model=AcceptedOut,
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="forgot_password",
    dependencies=[Depends(rate_limited("reset"))],
)
async def forgot_password(body: EmailIn, session: SessionDep, security: SecurityDep) -> AcceptedOut:
    """Mail a password reset link. The answer is the same whether or not the account exists."""
    await recovery.request_password_reset(session, security, body.email)
    return AcceptedOut(
        detail="if an account uses this address, a link to reset its password is on its way"
    )


@router.get(
    "/password/reset",
    response_model=ResetCheckOut,
    operation_id="check_password_reset",
    dependencies=[Depends(rate_limited("reset"))],
)
async def check_password_reset(
    token: str, session: SessionDep, security: SecurityDep
) -> ResetCheckOut:
    """Whether a mailed reset link is still good, and for which account; uses nothing up."""
    user = await recovery.user_for_reset(session, security, token)
    return ResetCheckOut(email=user.email)


@router.post(
    "/password/reset",
    response_model=AcceptedOut,
    operation_id="reset_password",
    dependencies=[Depends(rate_limited("reset"))],
)
async def reset_password(
    body: ResetIn, session: SessionDep, security: SecurityDep, passwords: PasswordsDep
) -> AcceptedOut:
    """Set a new password with a mailed link; every session of the account ends."""
    await recovery.reset_password(session, security, passwords, body.token, body.password)
    return AcceptedOut(detail="password changed; sign in with the new one")


@router.post(
    "/password/change",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="change_password",
    dependencies=[Depends(rate_limited("password-change"))],
)
async def change_password(
    body: PasswordChangeIn,
    principal: CurrentUser,
    session: SessionDep,
    security: SecurityDep,
    passwords: PasswordsDep,
) -> Response:
    """Change the signed-in user's password; their other sessions end."""
    await recovery.change_password(
        session,
        security,
        passwords,
        principal,
        current=body.current_password,
        new=body.new_password,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_api_key",
)
async def create_api_key(body: ApiKeyIn, principal: CanAdmin, session: SessionDep) -> ApiKeyCreated:
    """Create an API key (admins). The full key is in this answer only."""
    key, token = await keys.create_api_key(
        session, principal, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    return ApiKeyCreated(**_key_out(key).model_dump(), key=token)


@router.get("/api-keys", response_model=list[ApiKeyOut], operation_id="list_api_keys")
async def list_api_keys(principal: CanAdmin, session: SessionDep) -> list[ApiKeyOut]:
    """The org's API keys, with prefixes only (admins)."""
    return [_key_out(k) for k in await keys.list_api_keys(session, principal.org_id)]


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, operation_id="revoke_api_key")
async def revoke_api_key(key_id: PathId, principal: CanAdmin, session: SessionDep) -> ApiKeyOut:
    """Revoke a key (admins); requests made with it are refused from now on."""
    return _key_out(await keys.revoke_api_key(session, principal, key_id))
