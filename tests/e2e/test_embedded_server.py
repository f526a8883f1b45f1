"""The embedded server as a user runs it (`failcast up --demo` in its own process), clicked
through quickly while a chaos fault runs: it stays ready, counts no server errors for
navigations the browser cancels, and stops within 10 s of SIGTERM."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from server_process import ServerProcess, start_server
from test_dashboard import ARGS, CHROMIUM, PAGES

# Rounds through every page: 5 x 8 = 40 navigations, most of them cut short by the next; the
# issue's 50 rounds would take several minutes of the CI budget and find nothing more.
ROUNDS = 5
SERVER_ERROR = re.compile(r'^failcast_http_requests_total\{[^}]*status="5\d\d"[^}]*\} (\S+)', re.M)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    # A short history and no demo training: this test is about the server, not the model.
    env = {"FAILCAST_DEMO_HISTORY_DAYS": "0.1", "FAILCAST_DEMO_TRAINING_DAYS": "0"}
    running = start_server(tmp_path, "--demo", env=env)
    try:
        yield running
    finally:
        running.kill()


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


def server_errors(base: str) -> float:
    text = httpx.get(base + "/metrics", timeout=10).text
    return sum(float(value) for value in SERVER_ERROR.findall(text))


@pytest.mark.timeout(120)
def test_quick_navigation_during_a_fault_keeps_the_server_ready_and_error_free(
    server: ServerProcess, browser: Browser
) -> None:
    base = server.url
    email, password = server.demo_sign_in()
    with httpx.Client(base_url=base, timeout=10) as http:
        login = http.post("/api/v1/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        fault = {"target_service": "api-gateway", "chaos_type": "cpu_spike", "duration": "5m"}
        injected = http.post("/api/v1/chaos/inject", json=fault, headers=headers)
        assert injected.status_code == 201, injected.text

        page = browser.new_page()
        page.goto(base + "/app/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Org health")).to_be_visible(timeout=20_000)
        for round_ in range(ROUNDS):
            for name in PAGES:
                path = "/" if name == "overview" else f"/{name}"
                # Leave each page as soon as it starts loading, as a user clicking on does.
                page.goto(f"{base}/app{path}", wait_until="commit")
            ready = http.get("/ready")
            assert ready.status_code == 200, (round_, ready.text)
        page.goto(base + "/app/chaos")
        expect(page.locator(".q-header")).to_be_visible(timeout=15_000)
        page.close()
        assert http.get("/ready").status_code == 200
        assert server_errors(base) == 0, server.output()[-5000:]

    # uvicorn shuts down gracefully, then ends the process by the signal it was sent.
    assert server.terminate(within_s=10) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.output()


PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0: nothing scrolls sideways)."""
    width: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def visit(page: Page, url: str) -> None:
    """Open `url`, again if a navigation the previous page started cut the first try short."""
    for attempt in range(3):
        try:
            page.goto(url)
            return
        except PlaywrightError as exc:
            if "ERR_ABORTED" not in str(exc) or attempt == 2:
                raise


@pytest.mark.timeout(120)
def test_no_page_scrolls_sideways_on_a_phone(server: ServerProcess, browser: Browser) -> None:
    base = server.url
    email, password = server.demo_sign_in()
    page = browser.new_page(viewport=PHONE)
    page.goto(base + "/app/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Org health")).to_be_visible(timeout=20_000)
    expect(page.locator(".fc-service").first).to_be_visible(timeout=30_000)
    page.locator(".fc-service").first.click()
    expect(page.get_by_text("Failure predictions")).to_be_visible(timeout=15_000)
    paths = {"service": page.url.removeprefix(base + "/app")}
    paths |= {name: "/" if name == "overview" else f"/{name}" for name in PAGES}
    paths["unknown"] = "/no-such-page"
    wide: dict[str, int] = {}
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in paths.items():
        visit(page, f"{base}/app{path}")
        expect(page.locator(".q-header")).to_be_visible(timeout=15_000)
        # Charts and tables fill in after the first answers.
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SHOTS / f"phone-{name}.png"))
        if overflow(page) > 0:
            wide[name] = overflow(page)
    assert wide == {}
