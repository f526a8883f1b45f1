"""The dashboard end to end: a real server, headless Chromium, a new account, the simulated
fleet, an alert rule made on the page, a chaos fault and the alert it raises; a failure model
trained on the page and the prediction a fault raises. Screenshots of every page land in
test-artifacts/screenshots/ (untracked); `make screenshots` writes them to docs/screenshots/."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import PASSWORD
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
# Tests never write into tracked files: the README's screenshots are refreshed on purpose only.
SHOTS = Path(os.environ.get("FAILCAST_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PAGES = ["overview", "topology", "alerts", "slos", "chaos", "models", "reports", "settings"]
TARGET = "api-gateway"
# The failure model reads windows of up to a day, so the prediction test gives the new org two
# days of its fleet's history first. It forecasts incidents that start later, learnt from slow
# failures, so a sudden fault moves it little in points but much in proportion; a degrading
# feature pipeline moves it most (24 h: from about 0.35 % to 2 to 3 % within a minute with the
# default hard-history model, and not at all without the fault; see docs/prediction.md, "What a
# chaos fault does to a prediction"). The test asks for the risk to double or to gain a point,
# whichever is less (and to reach 0.1 % at least).
HISTORY_DAYS = 2
PIPELINE = "features-pipeline"
PIPELINE_FAULT = "pipeline_degradation"
PREDICTION = re.compile(r"P\(failure\): 1 h [<\d.]+%, 24 h (<?)([\d.]+)%")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def sign_up(page: Page, base: str, email: str) -> None:
    page.goto(base + "/app/signup")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Organisation").fill("Acme")
    page.get_by_label("Password (12+ characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("No services yet — send your first metrics")).to_be_visible(
        timeout=20_000
    )


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/app/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Org health")).to_be_visible(timeout=20_000)


def start_fleet(page: Page) -> None:
    page.get_by_role("button", name="Or start the simulated fleet").click()
    # The simulator reports every two seconds; the overview polls every two.
    expect(page.locator(".fc-service").first).to_be_visible(timeout=30_000)


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def visit_all(page: Page, base: str, suffix: str) -> None:
    for name in PAGES:
        path = "/" if name == "overview" else f"/{name}"
        page.goto(base + "/app" + path)
        expect(page.locator(".q-header")).to_be_visible(timeout=15_000)
        shoot(page, f"{name}-{suffix}")


def pick(page: Page, label: str, option: str) -> None:
    """Choose `option` in the Quasar select labelled `label`."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_chaos_fault_raises_the_alert_of_a_rule_made_on_the_page(
    live_server: Any, browser: Browser
) -> None:
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP)
    page.goto(base + "/app/login")
    shoot(page, "login-dark")
    sign_up(page, base, "ada@example.com")
    start_fleet(page)
    expect(page.get_by_text(re.compile(r"health is \d+/100"))).to_be_visible(timeout=20_000)
    shoot(page, "overview-dark")
    page.locator(".fc-service", has_text=TARGET).first.click()
    expect(page.get_by_text("Failure predictions")).to_be_visible(timeout=15_000)
    expect(page.locator("canvas").first).to_be_visible(timeout=15_000)
    shoot(page, "service-dark")

    page.goto(base + "/app/alerts")
    page.get_by_label("Name", exact=True).fill("gateway slow")
    page.get_by_label("Service (blank: all)").fill(TARGET)
    page.get_by_label("Value").fill("400")
    pick(page, "Window", "1m")
    page.get_by_role("button", name="Add rule").click()
    rule = f"gateway slow: avg(latency_p99_ms[1m]) > 400.0 on {TARGET}"
    expect(page.get_by_text(rule)).to_be_visible(timeout=10_000)

    page.goto(base + "/app/chaos")
    expect(page.get_by_text("Inject a fault")).to_be_visible(timeout=15_000)
    pick(page, "Fault", "network_latency")
    page.get_by_role("button", name="Inject").click()
    expect(page.get_by_text(f"Injected network_latency into {TARGET}")).to_be_visible()
    expect(page.get_by_text(f"network_latency → {TARGET}")).to_be_visible(timeout=10_000)
    # Rules are evaluated every 2 s here; the 1 min average crosses 400 ms within seconds.
    expect(page.get_by_text(f"gateway slow on {TARGET} (firing)")).to_be_visible(timeout=60_000)
    shoot(page, "chaos-dark")

    page.goto(base + "/app/alerts")
    expect(page.get_by_text(f"gateway slow on {TARGET}")).to_be_visible(timeout=15_000)
    shoot(page, "alerts-dark")
    page.goto(base + "/app/topology")
    expect(page.get_by_text("Critical path", exact=True)).to_be_visible(timeout=20_000)
    shoot(page, "topology-dark")


def test_light_theme_and_phone_layout(live_server: Any, browser: Browser) -> None:
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP)
    sign_up(page, base, "grace@example.com")
    start_fleet(page)
    page.goto(base + "/app/slos")
    page.get_by_label("Name").fill("gateway-latency")
    page.get_by_label("Service").fill(TARGET)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("SLO gateway-latency added.")).to_be_visible(timeout=10_000)
    page.goto(base + "/app/")
    page.locator("button:has(i:text-is('light_mode'))").click()
    expect(page.locator("body.body--light")).to_be_attached(timeout=10_000)
    visit_all(page, base, "light")
    page.locator("button:has(i:text-is('dark_mode'))").click()
    expect(page.locator("body.body--dark")).to_be_attached(timeout=10_000)
    for name in ("slos", "models", "reports", "settings"):
        page.goto(f"{base}/app/{name}")
        expect(page.locator(".q-header")).to_be_visible(timeout=15_000)
        shoot(page, f"{name}-dark")

    phone = browser.new_page(viewport=PHONE)
    sign_in(phone, base, "grace@example.com")
    # On a phone the navigation hides behind the menu button and nothing scrolls sideways.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    visit_all(phone, base, "phone")


def wait_for_history(base: str, email: str, days: float) -> None:
    """Wait until the org's simulated history of `days` on the five-minute grid is stored."""
    with httpx.Client(base_url=base, timeout=30) as http:
        login = http.post("/api/v1/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        fleet = http.get("/api/v1/chaos/fleet", headers=headers).json()
        expected = sum(len(s["metrics"]) for s in fleet["services"]) * int(days * 288)
        deadline = time.monotonic() + 120
        while http.get("/api/v1/stats", headers=headers).json()["samples"] < expected:
            assert time.monotonic() < deadline, "the simulated history was not stored in 120 s"
            time.sleep(0.5)


def shown_probability(page: Page, timeout_s: float = 60) -> float:
    """The 24 h P(failure) in percent that the chaos page shows for its target ("<0.1%" read
    as half of that)."""
    label = page.get_by_text(PREDICTION)
    expect(label).to_be_visible(timeout=timeout_s * 1000)
    found = PREDICTION.search(label.inner_text())
    assert found is not None
    below, value = found.groups()
    return float(value) / 2 if below else float(value)


def settled_probability(page: Page) -> float:
    """The shown 24 h P(failure) once two readings 4 s apart (more than a scoring round here)
    agree: the first rounds after a model goes live can differ (1.5 %, then 0.3 %)."""
    last = shown_probability(page)
    for _ in range(15):
        page.wait_for_timeout(4000)
        reading = shown_probability(page)
        if reading == last:
            break
        last = reading
    return last


@pytest.mark.timeout(360)
def test_a_chaos_fault_raises_the_prediction_of_a_model_trained_on_the_page(
    live_server: Any, browser: Browser
) -> None:
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP)
    sign_up(page, base, "mary@example.com")
    # Start the fleet on the Chaos page, with two days of its history (the page's default).
    page.goto(base + "/app/chaos")
    expect(page.get_by_text("The simulated fleet is off for this organisation")).to_be_visible(
        timeout=15_000
    )
    pick(page, "History", f"{HISTORY_DAYS} days of history")
    page.get_by_role("button", name="Start the simulated fleet").click()
    expect(page.get_by_text(f"Storing {HISTORY_DAYS} days of history")).to_be_visible(
        timeout=10_000
    )
    wait_for_history(base, "mary@example.com", HISTORY_DAYS)

    page.goto(base + "/app/models")
    expect(page.get_by_text("No trained model yet")).to_be_visible(timeout=15_000)
    # With the simulated fleet running, the page offers its simulated history to learn from.
    expect(page.get_by_label("Train on", exact=True)).to_be_visible()
    page.get_by_role("button", name="Train a new version").click()
    expect(
        page.get_by_text(re.compile(r"Training on \d+ days of simulated history"))
    ).to_be_visible(timeout=10_000)
    # About 20 s of training on two cores; generous for a loaded machine.
    expect(page.get_by_text("version 1", exact=True)).to_be_visible(timeout=180_000)
    expect(
        page.get_by_text(re.compile(r"production · trained .* labels from simulator"))
    ).to_be_visible()
    shoot(page, "models-trained-dark")

    page.goto(base + "/app/chaos")
    expect(page.get_by_text("Inject a fault")).to_be_visible(timeout=15_000)
    pick(page, "Target", PIPELINE)
    pick(page, "Fault", PIPELINE_FAULT)
    # Services are scored every 3 s here.
    before = settled_probability(page)
    page.get_by_role("button", name="Inject").click()
    expect(page.get_by_text(f"Injected {PIPELINE_FAULT} into {PIPELINE}")).to_be_visible()
    risen = max(min(2 * before, before + 1), 0.1)
    deadline = time.monotonic() + 150
    seen = [before]
    while seen[-1] < risen and time.monotonic() < deadline:
        page.wait_for_timeout(2000)
        seen.append(shown_probability(page))
    assert seen[-1] >= risen, f"P(failure in 24 h) read {seen} (%), never {risen}% or more"
    shoot(page, "chaos-prediction-dark")

    # The overview of an org with history and a model: gauges, timeline and cost all filled.
    # Scoring every 3 s competes with the pages for the server's CPU here (one process, one
    # GIL), so the first load is slower.
    page.goto(base + "/app/")
    expect(page.get_by_text(re.compile(r"health is \d+/100"))).to_be_visible(timeout=90_000)
    expect(page.get_by_text("No failure predictions yet")).to_have_count(0, timeout=30_000)
    expect(page.get_by_text("No cost data yet")).to_have_count(0, timeout=30_000)
    shoot(page, "overview-predictions-dark")
