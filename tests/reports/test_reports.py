"""The PDF reliability report: its pages as images and its text as a reader sees them, stored
reports, tenants, subscriptions and the weekly mailing with the PDF attached."""

from __future__ import annotations

import email.message
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from factories import Account, Mailbox, free_port, mail_to, register
from fastapi import FastAPI
from fleet import END, START, build
from matplotlib.image import imread

from failcast.auth.mailer import Mailer
from failcast.deps import services_of
from failcast.reports.service import WeeklyReports, last_scheduled

PERIOD = {"start": START.isoformat(), "end": END.isoformat()}


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    run = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return " ".join(run.stdout.decode().split())


def pages_as_png(pdf: bytes, tmp_path: Path) -> list[Path]:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(tmp_path / "page")], check=True)
    return sorted(tmp_path.glob("page*.png"))


async def test_the_report_tells_what_happened(
    app: FastAPI, client: httpx.AsyncClient, account: Account, tmp_path: Path
) -> None:
    await build(app, client, account)
    answer = await client.get(
        "/api/v1/reports/reliability.pdf", params=PERIOD, headers=account.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    text = text_of(answer.content, tmp_path)

    assert "Reliability report: Acme" in text
    assert f"{START:%Y-%m-%d %H:%M} UTC to {END:%Y-%m-%d %H:%M} UTC" in text
    headings = ("Executive summary", "Health over the period", "Incidents and recovery",
                "SLO compliance", "Predictions against what happened", "Top risks")  # fmt: skip
    for heading in headings:
        assert heading in text
    assert "4 services" in text
    # Three incidents of 45, 90 and 30 minutes: a mean time to recover of 55 minutes. The
    # service in warning (p99 130 ms) scores at most 79, which takes the org to 59: critical.
    assert "3 55 min 1/2 health now (critical) incidents mean time to recover SLOs met" in text
    assert "Card authorisation timeouts" in text and "Index node out of memory" in text
    assert "resource exhaustion 1 90 min latency spike 1 45 min cascade 1 30 min" in text
    # payments' p99 was above 250 ms for its last 37 hourly samples: the SLO is breached.
    assert "checkout-errors checkout 95.00% 100.000% 100% met" in text
    assert "payments-latency payments 99.00%" in text and "% breached" in text
    # Six judged 24 h predictions: 3 alarms, 2 caught, 1 false, 1 missed, Brier 1.08 / 6.
    assert "24 h 6 3 2 1 1 67% 67% 0.180" in text
    assert "Top risks service risk why" in text
    assert "payments critical" in text.split("Top risks")[-1]

    pages = pages_as_png(answer.content, tmp_path)
    assert len(pages) >= 2
    for page in pages:
        pixels = imread(page)
        # Not a blank page: some dark ink, and the chart's colour on the first page.
        assert pixels.min() < 0.3
    first = imread(pages[0])
    blue = (first[..., 2] > 0.8) & (first[..., 0] < 0.3)
    assert blue.sum() > 100


async def test_stored_reports_and_tenants(
    app: FastAPI, client: httpx.AsyncClient, account: Account, tmp_path: Path
) -> None:
    made = await client.post("/api/v1/reports", json=PERIOD, headers=account.headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["trigger"] == "on_demand" and body["url"] == f"/api/v1/reports/{body['id']}.pdf"
    listed = (await client.get("/api/v1/reports", headers=account.headers)).json()["reports"]
    assert [r["id"] for r in listed] == [body["id"]]
    pdf = await client.get(body["url"], headers=account.headers)
    assert pdf.status_code == 200 and len(pdf.content) == body["size"]
    assert "No incident started in this period." in text_of(pdf.content, tmp_path)

    other = await register(client, "other@example.com", "Other")
    assert (await client.get(body["url"], headers=other.headers)).status_code == 404
    assert (await client.get("/api/v1/reports", headers=other.headers)).json()["reports"] == []
    too_long = await client.get(
        "/api/v1/reports/reliability.pdf",
        params={"start": "2020-01-01T00:00:00Z", "end": "2022-01-01T00:00:00Z"},
        headers=account.headers,
    )
    assert too_long.status_code == 422


def test_weekly_send_time() -> None:
    # Monday 06:00 UTC: on Wednesday it is the Monday before; on Monday 05:59 the one before.
    wednesday = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    assert last_scheduled(wednesday, 0, 6) == datetime(2026, 11, 16, 6, tzinfo=UTC)
    early = datetime(2026, 11, 16, 5, 59, tzinfo=UTC)
    assert last_scheduled(early, 0, 6) == datetime(2026, 11, 9, 6, tzinfo=UTC)
    assert last_scheduled(datetime(2026, 11, 16, 6, tzinfo=UTC), 0, 6) == datetime(
        2026, 11, 16, 6, tzinfo=UTC
    )


@pytest.fixture
def smtp_box() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


async def test_weekly_reports_are_mailed_once_with_the_pdf(
    app: FastAPI, client: httpx.AsyncClient, account: Account, smtp_box: Mailbox, tmp_path: Path
) -> None:
    h = account.headers
    for address in ("sre@example.com", "CTO@example.com"):
        added = await client.post(
            "/api/v1/reports/subscriptions", json={"email": address}, headers=h
        )
        assert added.status_code == 201, added.text
    again = await client.post(
        "/api/v1/reports/subscriptions", json={"email": "sre@example.com"}, headers=h
    )
    assert again.status_code == 409
    listed = (await client.get("/api/v1/reports/subscriptions", headers=h)).json()
    assert [s["email"] for s in listed["subscribers"]] == ["cto@example.com", "sre@example.com"]

    now = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    weekly = WeeklyReports(
        services_of(app).db, lambda: Mailer(mail_to(services_of(app).settings, smtp_box)),
        weekday=0, hour=6, clock=lambda: now,
    )  # fmt: skip
    assert await weekly.run() == 2
    assert await weekly.run() == 0  # the week's report went out already
    [mail] = smtp_box.to("sre@example.com")
    assert mail["Subject"] == "Failcast reliability report: Acme, 2026-11-09 to 2026-11-16"
    [attachment] = list(mail.iter_attachments())
    assert isinstance(attachment, email.message.EmailMessage)
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_content()
    assert "2026-11-09 06:00 UTC to 2026-11-16 06:00 UTC" in text_of(pdf, tmp_path)
    stored = (await client.get("/api/v1/reports", headers=h)).json()["reports"]
    assert [(r["trigger"], r["period_end"]) for r in stored] == [
        ("schedule", "2026-11-16T06:00:00Z")
    ]

    sub_id = listed["subscribers"][0]["id"]
    gone = await client.delete(f"/api/v1/reports/subscriptions/{sub_id}", headers=h)
    assert gone.status_code == 204
    missing = await client.delete(f"/api/v1/reports/subscriptions/{sub_id}", headers=h)
    assert missing.status_code == 404
