"""Notification channels: one class per kind behind `Channel`.

    Channel.send(notification, http) -> status code, or raises DeliveryError
    ├── SlackChannel       incoming webhook, Block Kit message
    ├── PagerDutyChannel   Events API v2: trigger / acknowledge / resolve on one dedup_key
    ├── EmailChannel       SMTP (aiosmtplib), multipart text + HTML
    ├── WebhookChannel     JSON signed with X-Failcast-Signature: sha256=<HMAC-SHA256 hex>;
    │                      `format: alertmanager` sends Alertmanager's version 4 payload
    └── AlertmanagerChannel  pushes the alerts to one or more Alertmanagers' POST /api/v2/alerts,
                           as Prometheus does: re-sent while firing, `endsAt` on resolve

Every URL and SMTP host is part of the channel's configuration, so a test points a channel
at a local receiver. Receivers are reached through `failcast.egress` only (internal addresses
refused unless the operator allows them), and what a failed delivery reports is deliberately
coarse: "delivery failed", with the receiver's HTTP or SMTP status when it answered one. A
refused connection and a silent port look the same, so a channel is no port scanner; the
server's log keeps the details.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from abc import ABC, abstractmethod
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, ClassVar, Literal

import aiosmtplib
import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from failcast.egress import EgressPolicy, OutboundClient, connect_socket, is_refusal
from failcast.errors import ValidationFailed, problems_from_pydantic
from failcast.models.notification_channel import ChannelKind as ChannelKind
from failcast.notify.payloads import (
    Notification,
    alertmanager_alerts,
    alertmanager_payload,
    email_bodies,
    failcast_payload,
    pagerduty_event,
    slack_payload,
)

SIGNATURE_HEADER = "X-Failcast-Signature"
REDACTED = "********"
FAILED = "delivery failed"
NOT_ALLOWED = "delivery failed: destination not allowed"

log = logging.getLogger("failcast.notify")


class DeliveryError(Exception):
    """A failed delivery; `permanent` ones (a 4xx other than 429) are not retried."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    @property
    def permanent(self) -> bool:
        code = self.status_code
        return code is not None and 400 <= code < 500 and code != 429


def sign(secret: str, body: bytes) -> str:
    """The signature header value: `sha256=` and the HMAC-SHA256 hex digest of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    try:
        host = httpx.URL(value).host
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if not host:
        raise ValueError("the URL names no host")
    return value


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def _post_json(
    http: OutboundClient,
    url: str,
    body: dict[str, Any] | list[Any],
    headers: dict[str, str] | None = None,
) -> int:
    content = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    return await _post_bytes(http, url, content, sent)


async def _post_bytes(
    http: OutboundClient, url: str, content: bytes, headers: dict[str, str]
) -> int:
    try:
        # Redirects are not followed: a receiver could send the request on to an address
        # the check never saw the URL of (the connection would still be checked).
        response = await http.post(url, content=content, headers=headers)
    except httpx.HTTPError as exc:
        if is_refusal(exc):
            raise DeliveryError(NOT_ALLOWED) from None
        log.info("delivery failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        raise DeliveryError(FAILED) from None
    if response.status_code >= 300:
        # The receiver's body is not repeated: it could be anything the URL points at.
        status = response.status_code
        raise DeliveryError(f"{FAILED}: HTTP {status}", status)
    return response.status_code


class Channel(ABC):
    """One configured destination of notifications."""

    kind: ClassVar[str]
    config_model: ClassVar[type[_Config]]
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # Whether the receiver understands an acknowledgement; others are not told about one.
    supports_acknowledge: ClassVar[bool] = True

    def __init__(self, name: str, config: _Config) -> None:
        self.name = name
        self.config = config

    @abstractmethod
    async def send(self, notification: Notification, http: OutboundClient) -> int:
        """Deliver once; the status code on success, `DeliveryError` otherwise."""

    def unreachable(self, policy: EgressPolicy) -> list[dict[str, Any]]:
        """Problems with destinations the policy refuses outright (literals, local names)."""
        return []

    def wants(self, notification: Notification) -> bool:
        return notification.status != "acknowledged" or self.supports_acknowledge

    @property
    def resend_every(self) -> timedelta | None:
        """For receivers that forget an alert nobody repeats (Alertmanager): how often a
        firing or acknowledged group is re-sent, whatever the route's timers say. Such
        receivers are also always told of a resolve."""
        return None


class SlackConfig(_Config):
    url: str = Field(description="the incoming webhook URL")
    channel: str | None = Field(default=None, max_length=200)

    _url = field_validator("url")(_http_url)


class SlackChannel(Channel):
    kind = "slack"
    config_model = SlackConfig
    secret_fields = ("url",)
    config: SlackConfig

    async def send(self, notification: Notification, http: OutboundClient) -> int:
        body = slack_payload(notification, self.config.channel)
        return await _post_json(http, self.config.url, body)

    def unreachable(self, policy: EgressPolicy) -> list[dict[str, Any]]:
        return _url_problems(policy, self.config.url)


class PagerDutyConfig(_Config):
    routing_key: str = Field(min_length=1, max_length=200)
    url: str = "https://events.pagerduty.com/v2/enqueue"

    _url = field_validator("url")(_http_url)


class PagerDutyChannel(Channel):
    kind = "pagerduty"
    config_model = PagerDutyConfig
    secret_fields = ("routing_key",)
    config: PagerDutyConfig

    async def send(self, notification: Notification, http: OutboundClient) -> int:
        body = pagerduty_event(notification, self.config.routing_key)
        return await _post_json(http, self.config.url, body)

    def unreachable(self, policy: EgressPolicy) -> list[dict[str, Any]]:
        return _url_problems(policy, self.config.url)


class EmailConfig(_Config):
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_tls: bool = False
    sender: str = Field(min_length=3, max_length=320)
    to: list[str] = Field(min_length=1, max_length=100)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class EmailChannel(Channel):
    kind = "email"
    config_model = EmailConfig
    secret_fields = ("password",)
    config: EmailConfig

    def unreachable(self, policy: EgressPolicy) -> list[dict[str, Any]]:
        reason = policy.check_host(self.config.host)
        return [{"field": "config.host", "msg": reason}] if reason else []

    async def send(self, notification: Notification, http: OutboundClient) -> int:
        subject, text, body = email_bodies(notification)
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = ", ".join(self.config.to)
        message["Subject"] = subject
        message["X-Failcast-Dedup-Key"] = notification.dedup_key
        message.set_content(text)
        message.add_alternative(body, subtype="html")
        timeout = self.config.timeout_seconds
        try:
            # Connected here, to an address the policy admits; TLS still checks the host name.
            sock = await connect_socket(http.egress, self.config.host, self.config.port, timeout)
            await aiosmtplib.send(
                message,
                hostname=self.config.host,
                sock=sock,
                username=self.config.username,
                password=self.config.password,
                start_tls=self.config.starttls,
                use_tls=self.config.use_tls,
                timeout=timeout,
            )
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{FAILED}: SMTP {exc.code}", exc.code) from None
        except (aiosmtplib.SMTPException, httpcore.ConnectError, OSError) as exc:
            if is_refusal(exc):
                raise DeliveryError(NOT_ALLOWED) from None
            log.info("delivery failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            raise DeliveryError(FAILED) from None
        return 250


class WebhookConfig(_Config):
    url: str
    secret: str = Field(min_length=16, max_length=500)
    format: Literal["failcast", "alertmanager"] = "failcast"
    headers: dict[str, str] = Field(default_factory=dict)

    _url = field_validator("url")(_http_url)


class WebhookChannel(Channel):
    kind = "webhook"
    config_model = WebhookConfig
    secret_fields = ("secret",)
    config: WebhookConfig

    def wants(self, notification: Notification) -> bool:
        # Alertmanager receivers know only firing and resolved.
        if self.config.format == "alertmanager" and notification.status == "acknowledged":
            return False
        return super().wants(notification)

    def unreachable(self, policy: EgressPolicy) -> list[dict[str, Any]]:
        return _url_problems(policy, self.config.url)

    async def send(self, notification: Notification, http: OutboundClient) -> int:
        if self.config.format == "alertmanager":
            body = alertmanager_payload(notification)
        else:
            body = failcast_payload(notification)
        content = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            **self.config.headers,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.config.secret, content),
        }
        return await _post_bytes(http, self.config.url, content, headers)


class AlertmanagerConfig(_Config):
    urls: list[str] = Field(
        min_length=1,
        max_length=10,
        description="the Alertmanagers' base URLs, such as http://alertmanager:9093",
    )
    bearer_token: str | None = Field(default=None, max_length=2000)
    resend_seconds: int = Field(
        default=60,
        ge=10,
        le=3600,
        description="how often firing alerts are re-sent; they expire after four of these",
    )

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [_http_url(url).rstrip("/") for url in urls]


class AlertmanagerChannel(Channel):
    kind = "alertmanager"
    config_model = AlertmanagerConfig
    secret_fields = ("bearer_token",)
    config: AlertmanagerConfig

    def wants(self, notification: Notification) -> bool:
        # Acknowledged alerts are still firing as far as Alertmanager knows.
        return True

    @property
    def resend_every(self) -> timedelta:
        return timedelta(seconds=self.config.resend_seconds)

    def unreachable(self, policy: EgressPolicy) -> list[dict[str, Any]]:
        problems = []
        for index, url in enumerate(self.config.urls):
            for problem in _url_problems(policy, url):
                problems.append(problem | {"field": f"config.urls.{index}"})
        return problems

    async def send(self, notification: Notification, http: OutboundClient) -> int:
        """Posts to every Alertmanager. As with Prometheus, one that accepts is enough: the
        members of a cluster share what they are told."""
        body = alertmanager_alerts(notification, expires_after=4 * self.resend_every)
        headers = {}
        if self.config.bearer_token:
            headers["Authorization"] = f"Bearer {self.config.bearer_token}"
        errors: list[DeliveryError] = []
        status = 0
        for url in self.config.urls:
            try:
                status = await _post_json(http, f"{url}/api/v2/alerts", body, headers)
            except DeliveryError as exc:
                errors.append(exc)
        if len(errors) < len(self.config.urls):
            return status
        if len(errors) == 1:
            raise errors[0]
        # Retried unless every Alertmanager refused the alerts outright.
        permanent = all(e.permanent for e in errors)
        codes = ", ".join(str(e.status_code or "-") for e in errors)
        code = errors[0].status_code if permanent else None
        raise DeliveryError(f"{FAILED} on every Alertmanager (HTTP {codes})", code)


CHANNEL_TYPES: dict[str, type[Channel]] = {
    cls.kind: cls
    for cls in (SlackChannel, PagerDutyChannel, EmailChannel, WebhookChannel, AlertmanagerChannel)
}


def validate_config(kind: str, config: dict[str, Any], policy: EgressPolicy) -> dict[str, Any]:
    """The channel's settings, validated and normalised, or a 422 naming each bad field
    (a destination the policy refuses whatever DNS says included)."""
    cls = CHANNEL_TYPES[kind]
    try:
        model = cls.config_model.model_validate(config)
    except ValidationError as exc:
        problems = problems_from_pydantic(list(exc.errors()))
        for problem in problems:
            problem["field"] = "config" + (f".{problem['field']}" if problem["field"] else "")
        raise ValidationFailed(problems) from None
    problems = cls("check", model).unreachable(policy)
    if problems:
        raise ValidationFailed(problems)
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


def _url_problems(policy: EgressPolicy, url: str) -> list[dict[str, Any]]:
    host = httpx.URL(url).host
    reason = policy.check_host(host) if host else "the URL names no host"
    return [{"field": "config.url", "msg": reason}] if reason else []


def build(kind: str, name: str, config: dict[str, Any]) -> Channel:
    cls = CHANNEL_TYPES[kind]
    return cls(name, cls.config_model.model_validate(config))


def redacted(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The settings as the API shows them: secrets replaced."""
    secrets = CHANNEL_TYPES[kind].secret_fields
    return {k: (REDACTED if k in secrets and v else v) for k, v in config.items()}


def merge_secrets(kind: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """An update that sends back the redacted placeholder keeps the stored secret."""
    secrets = CHANNEL_TYPES[kind].secret_fields
    return {k: (old.get(k) if k in secrets and v == REDACTED else v) for k, v in new.items()}
