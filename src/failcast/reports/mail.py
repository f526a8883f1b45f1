"""Mail a report: the project's mailer's message, with the PDF attached."""

from __future__ import annotations

import html
import logging

from failcast.auth.mailer import Email, Mailer

log = logging.getLogger("failcast.reports")


def report_email(to: str, org_name: str, period: str, summary: str) -> Email:
    subject = f"Failcast reliability report: {org_name}, {period}"
    text = (
        f"The reliability report of {org_name} for {period} is attached.\n\n{summary}\n\n"
        "-- Failcast\n"
    )
    body = (
        "<!doctype html>\n"
        '<html><body style="font-family: system-ui, sans-serif; color: #1f2937; '
        'max-width: 560px">\n'
        f"<p>The reliability report of <b>{html.escape(org_name)}</b> for "
        f"{html.escape(period)} is attached.</p>\n"
        f"<p>{html.escape(summary)}</p>\n"
        "<p>&mdash; Failcast</p>\n"
        "</body></html>\n"
    )
    return Email(to=to, subject=subject, text=text, html=body)


async def send_with_pdf(mailer: Mailer, email: Email, pdf: bytes, filename: str) -> bool:
    """Send `email` with `pdf` attached; False when no SMTP server is configured."""
    if not mailer.configured:
        log.warning("report not mailed: no SMTP server configured")
        return False
    message = mailer.message(email)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    await mailer.deliver(message)
    return True
