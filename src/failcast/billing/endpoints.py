"""Plans, the org's billing state, Stripe Checkout and Portal, Stripe webhooks, and the
operators' usage overview."""

from __future__ import annotations

from typing import Annotated

import stripe
from fastapi import APIRouter, Query, Request

from failcast.auth.principal import AsOwner, CanRead, PlatformAdmin
from failcast.billing import repository, service
from failcast.billing.errors import BadSignature
from failcast.billing.plans import month_key
from failcast.billing.schemas import (
    BillingOut,
    CheckoutIn,
    LimitsIn,
    LimitsOut,
    PlanList,
    PortalIn,
    RedirectOut,
    UsageReport,
    WebhookOut,
)
from failcast.billing.tasks import BillingDep
from failcast.billing.webhooks import parse_event
from failcast.deps import PathId, SessionDep, SettingsDep
from failcast.errors import ValidationFailed
from failcast.kit.responses import errors

router = APIRouter(prefix="/api/v1", tags=["billing"])


@router.get("/plans", response_model=PlanList, operation_id="list_plans")
async def list_plans(principal: CanRead, session: SessionDep) -> PlanList:
    """Every plan with its price and limits (null: unlimited)."""
    return PlanList(plans=[service.plan_out(p) for p in await repository.plans(session)])


@router.get("/billing", response_model=BillingOut, operation_id="get_billing")
async def get_billing(principal: CanRead, session: SessionDep, billing: BillingDep) -> BillingOut:
    """The org's plan, subscription status, limits and usage this month."""
    return await service.overview(
        session,
        principal.org_id,
        billing.quotas,
        billing.now(),
        metered=billing.settings.billing_enabled,
    )


@router.post(
    "/billing/checkout",
    response_model=RedirectOut,
    operation_id="billing_checkout",
    responses=errors(409, 503),
)
async def checkout(
    body: CheckoutIn,
    principal: AsOwner,
    session: SessionDep,
    settings: SettingsDep,
    billing: BillingDep,
) -> RedirectOut:
    """Start a Stripe Checkout for a plan; send the owner to the returned URL."""
    session_id, url = await service.checkout(
        session, billing.gateway, settings, principal, body.plan, body.success_url, body.cancel_url
    )
    return RedirectOut(url=url, id=session_id)


@router.post(
    "/billing/portal",
    response_model=RedirectOut,
    operation_id="billing_portal",
    responses=errors(409, 503),
)
async def portal(
    body: PortalIn,
    principal: AsOwner,
    session: SessionDep,
    settings: SettingsDep,
    billing: BillingDep,
) -> RedirectOut:
    """A Stripe Customer Portal session: payment methods, invoices, cancellation."""
    url = await service.portal(session, billing.gateway, settings, principal, body.return_url)
    return RedirectOut(url=url)


@router.post(
    "/billing/webhook",
    response_model=WebhookOut,
    operation_id="stripe_webhook",
    responses={**errors(503), **{400: {"description": "Bad or missing Stripe-Signature"}}},
)
async def webhook(request: Request, session: SessionDep, billing: BillingDep) -> WebhookOut:
    """Stripe's events, verified by their signature; each event id is applied once."""
    payload = await request.body()
    try:
        billing.gateway.verify(payload, request.headers.get("stripe-signature"))
    except stripe.SignatureVerificationError as exc:
        raise BadSignature(f"Stripe-Signature rejected: {exc.user_message or exc}") from None
    except ValueError:
        raise ValidationFailed([{"field": None, "msg": "body is not JSON"}]) from None
    event = parse_event(payload)
    result = await billing.webhooks.process(session, event, billing.now())
    if result.org_id is not None:
        billing.quotas.forget(result.org_id)
    return WebhookOut(received=True, outcome=result.outcome)


@router.get("/admin/usage", response_model=UsageReport, operation_id="admin_usage")
async def admin_usage(
    principal: PlatformAdmin,
    session: SessionDep,
    billing: BillingDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UsageReport:
    """Every org's plan, limits and usage in a month (default: this one), by org id."""
    chosen = month or month_key(billing.now())
    return await service.usage_report(session, billing.quotas, chosen, cursor, limit)


@router.put(
    "/admin/orgs/{org_id}/limits", response_model=LimitsOut, operation_id="admin_set_org_limits"
)
async def set_org_limits(
    org_id: PathId,
    body: LimitsIn,
    principal: PlatformAdmin,
    session: SessionDep,
    billing: BillingDep,
) -> LimitsOut:
    """Negotiated limits of an org on a custom plan; fields left out keep the plan's value."""
    values = body.model_dump(exclude_unset=True)
    limits = await service.set_overrides(session, billing.quotas, principal, org_id, values)
    return service.limits_out(limits)
