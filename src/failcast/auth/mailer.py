"""Outgoing email over SMTP (aiosmtplib), each message in plain text and HTML.

Other domains send through the task runner so requests never wait on a mail server:
`await runner.submit(SEND_EMAIL_TASK, **email.as_task())`, or `await mailer.send(email)`.
"""

from __future__ import annotations

import html
import logging
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from failcast.config import Settings

log = logging.getLogger("failcast.mail")

SEND_EMAIL_TASK = "email.send"


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str
    html: str

    def as_task(self) -> dict[str, str]:
        return asdict(self)


def _header(value: str) -> str:
    # A user-chosen org or person name must never start a new header line.
    return " ".join(value.split())


class Mailer:
    """Sends `Email`s through the configured SMTP server; without one, drops them with a log
    line that names neither the body nor its links (they carry secrets)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host)

    def message(self, email: Email) -> EmailMessage:
        """The multipart/alternative message for `email`."""
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = _header(email.to)
        message["Subject"] = _header(email.subject)
        message["Message-ID"] = make_msgid(domain="failcast")
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    async def send(self, email: Email) -> bool:
        """Deliver `email`; False when no SMTP server is configured."""
        if not self.configured:
            log.warning(
                "email not sent: no SMTP server configured", extra={"subject": email.subject}
            )
            return False
        await self.deliver(self.message(email))
        log.info("email sent", extra={"subject": email.subject})
        return True

    async def deliver(self, message: EmailMessage) -> None:
        """Hand `message` to the configured SMTP server."""
        settings = self.settings
        password = settings.smtp_password.get_secret_value()
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user or None,
            password=password or None,
            start_tls=settings.smtp_starttls,
            use_tls=settings.smtp_port == 465,
            timeout=settings.smtp_timeout,
        )


def render(*, to: str, subject: str, intro: str, action: str, link: str, outro: str) -> Email:
    """A one-button email: an introduction, a link to act on, and a closing line."""
    text = f"{intro}\n\n{action}:\n{link}\n\n{outro}\n\n-- Failcast\n"
    href = html.escape(link, quote=True)
    button = (
        f'<a href="{href}" style="display: inline-block; padding: 10px 18px; '
        f'background: #2563eb; color: #ffffff; border-radius: 6px; text-decoration: none">'
        f"{html.escape(action)}</a>"
    )
    body = (
        "<!doctype html>\n"
        '<html><body style="font-family: system-ui, sans-serif; color: #1f2937; '
        'max-width: 560px">\n'
        f"<p>{html.escape(intro)}</p>\n"
        f"<p>{button}</p>\n"
        '<p style="font-size: 13px; color: #6b7280">Or paste this address into your browser:'
        f"<br>{html.escape(link)}</p>\n"
        f"<p>{html.escape(outro)}</p>\n"
        "<p>&mdash; Failcast</p>\n"
        "</body></html>\n"
    )
    return Email(to=to, subject=subject, text=text, html=body)
