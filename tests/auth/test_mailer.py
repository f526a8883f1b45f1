from __future__ import annotations

import pytest
from factories import Mailbox, mail_to
from factories import smtp_server as smtp_server

from failcast.auth.mailer import Email, Mailer, render
from failcast.config import Settings


async def test_mail_goes_out_as_text_and_html_over_smtp(
    settings: Settings, smtp_server: Mailbox
) -> None:
    email = render(
        to="lin@example.com",
        subject="Ops <team>\r\nBcc: everyone@example.com",
        intro="Hello <b>Lin</b> & co",
        action="Open",
        link="https://failcast.example/x?a=1&b=2",
        outro="Bye",
    )
    assert await Mailer(mail_to(settings, smtp_server)).send(email) is True
    [message] = smtp_server.messages
    assert message["Subject"] == "Ops <team> Bcc: everyone@example.com"
    assert message["Bcc"] is None
    assert message["From"] == "Failcast <no-reply@localhost>"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "https://failcast.example/x?a=1&b=2" in text.get_content()
    assert 'href="https://failcast.example/x?a=1&amp;b=2"' in html.get_content()
    assert "Hello &lt;b&gt;Lin&lt;/b&gt; &amp; co" in html.get_content()


async def test_without_an_smtp_server_mail_is_dropped_quietly(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = Mailer(settings.model_copy(update={"smtp_host": ""}))
    email = Email(to="a@example.com", subject="Reset", text="secret-link", html="secret-link")
    assert await mailer.send(email) is False
    assert "secret-link" not in caplog.text
