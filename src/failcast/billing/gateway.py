"""The calls Failcast makes to Stripe, through the official client, at the configured base."""

from __future__ import annotations

from typing import Any

import stripe

from failcast.billing.errors import BillingNotConfigured, PaymentProviderError
from failcast.config import Settings

# Plans that can be bought through Checkout, and the settings field holding each price id.
PRICE_SETTINGS = {
    "starter": "stripe_price_starter",
    "professional": "stripe_price_professional",
    "enterprise": "stripe_price_enterprise",
}


class _HttpxClient(stripe.HTTPXClient):
    """Stripe's httpx client, sending the encoded form as `content=`: httpx deprecates raw
    bytes passed as `data=`, and the warning would otherwise follow every call."""

    def _get_request_args_kwargs(self, method: str, url: str, headers: Any, post_data: Any) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        if isinstance(post_data, bytes | str):
            kwargs.pop("data", None)
            kwargs["content"] = post_data
        return args, kwargs


class StripeGateway:
    """Customers, Checkout sessions and Customer Portal sessions."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        key = settings.stripe_api_key.get_secret_value()
        self.client: stripe.StripeClient | None = None
        if key:
            self.client = stripe.StripeClient(
                key,
                base_addresses={"api": settings.stripe_api_base.rstrip("/")},
                max_network_retries=1,
                http_client=_HttpxClient(timeout=30),
            )

    def price_for(self, plan: str) -> str:
        field = PRICE_SETTINGS.get(plan)
        price = str(getattr(self.settings, field)) if field else ""
        if not price:
            raise BillingNotConfigured(f"the {plan} plan has no Stripe price on this server")
        return price

    def plan_for_price(self, price_id: str) -> str | None:
        for plan, field in PRICE_SETTINGS.items():
            if price_id and getattr(self.settings, field) == price_id:
                return plan
        return None

    def _client(self) -> stripe.StripeClient:
        if self.client is None:
            raise BillingNotConfigured("Stripe is not configured on this server")
        return self.client

    async def create_customer(self, org_id: int, org_name: str, email: str) -> str:
        params: Any = {"name": org_name, "email": email, "metadata": {"org_id": str(org_id)}}
        try:
            customer = await self._client().v1.customers.create_async(params=params)
        except stripe.StripeError as exc:
            raise PaymentProviderError(f"Stripe refused to create the customer: {exc}") from None
        return str(customer.id)

    async def checkout(
        self,
        *,
        customer: str,
        price: str,
        org_id: int,
        plan: str,
        success_url: str,
        cancel_url: str,
    ) -> tuple[str, str]:
        """(session id, URL) of a subscription Checkout session."""
        metadata = {"org_id": str(org_id), "plan": plan}
        params: Any = {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": str(org_id),
            "line_items": [{"price": price, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
        }
        try:
            session = await self._client().v1.checkout.sessions.create_async(params=params)
        except stripe.StripeError as exc:
            raise PaymentProviderError(f"Stripe refused the checkout: {exc}") from None
        return str(session.id), str(session.url)

    async def portal(self, *, customer: str, return_url: str) -> str:
        params: Any = {"customer": customer, "return_url": return_url}
        try:
            session = await self._client().v1.billing_portal.sessions.create_async(params=params)
        except stripe.StripeError as exc:
            raise PaymentProviderError(f"Stripe refused the portal session: {exc}") from None
        return str(session.url)

    def verify(self, payload: bytes, signature: str | None) -> None:
        """Check the Stripe-Signature header against the endpoint secret, or raise."""
        secret = self.settings.stripe_webhook_secret.get_secret_value()
        if not secret:
            raise BillingNotConfigured("no Stripe webhook secret is configured on this server")
        stripe.Webhook.construct_event(payload, signature, secret)
