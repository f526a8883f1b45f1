"""Notifications: routing, grouping timers, channels (Slack, PagerDuty, email, webhook) and
delivery with retries."""

from failcast.notify.channels import CHANNEL_TYPES, Channel, DeliveryError, sign
from failcast.notify.delivery import RetryPolicy
from failcast.notify.notifier import FlushReport, Notifier

__all__ = [
    "CHANNEL_TYPES",
    "Channel",
    "DeliveryError",
    "FlushReport",
    "Notifier",
    "RetryPolicy",
    "sign",
]
