"""Dashboard: time until the overview is interactive with 50 simulated services, and the
server's memory with 10 dashboards open.

Runs `failcast up` in its own process with the simulated fleet at 50 services, signs up
through the dashboard in headless Chromium, and measures from navigation until the service
grid shows every service. Counts the API requests one open overview makes per 2 s refresh
(from the server's own /metrics). Then opens ten more signed-in tabs on the overview (each
polling every 2 s) and reads the server's resident memory from /proc.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from bench._record import record, table
from bench._server import server

SERVICES = 50
DASHBOARDS = 10
RUNS = 5
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]  # fmt: skip
PASSWORD = "correct horse battery staple"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def server_pid(port: str) -> int:
    """The process listening on `port` (the server, not its parent shell)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(f":{int(port):04X}") and parts[3] == "0A":
            inode = parts[9]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return int(pid)
        except OSError:
            continue
    raise RuntimeError("server process not found")


def requests_served(http: httpx.Client) -> float:
    """API requests the server has answered so far, dashboard pages' own calls included."""
    total = 0.0
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("failcast_http_requests_total{") and 'route="/api/v1/' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def interactive_s(page: Page, url: str) -> float:
    start = time.perf_counter()
    page.goto(url)
    page.locator(".fc-service").nth(SERVICES - 1).wait_for(timeout=60_000)
    return time.perf_counter() - start


def main() -> None:
    os.environ["FAILCAST_SIMULATOR_SERVICES"] = str(SERVICES)
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as base:
        with httpx.Client(base_url=base) as http:
            body = {"email": "bench@example.com", "password": PASSWORD, "org_name": "Bench"}
            token = http.post("/api/v1/register", json=body).json()["access_token"]
            http.put(
                "/api/v1/chaos/simulator",
                json={"enabled": True},
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()
        time.sleep(5)  # a couple of simulator ticks, so every service has metrics
        pid = server_pid(base.rsplit(":", 1)[1])
        idle = rss_mib(pid)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(base + "/app/login")
            page.get_by_label("Email").fill("bench@example.com")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.locator(".fc-service").nth(SERVICES - 1).wait_for(timeout=60_000)
            times = [interactive_s(page, base + "/app/") for _ in range(RUNS)]
            with httpx.Client(base_url=base) as http:
                # One tab open, five refreshes: the cost and risk panels refresh every 10 s.
                before = requests_served(http)
                time.sleep(10)
                per_refresh = (requests_served(http) - before) / 5
            tabs = [context.new_page() for _ in range(DASHBOARDS - 1)]
            for tab in tabs:
                tab.goto(base + "/app/")
            for tab in tabs:
                tab.locator(".fc-service").nth(SERVICES - 1).wait_for(timeout=60_000)
            time.sleep(10)  # five refresh rounds on every dashboard
            loaded = rss_mib(pid)
            browser.close()
    median = statistics.median(times)
    rows = [
        [f"overview interactive, {SERVICES} services (median of {RUNS})", f"{median:.2f} s",
         "< 2 s"],
        ["overview interactive, slowest run", f"{max(times):.2f} s", ""],
        ["API requests per overview refresh (one tab)", f"{per_refresh:.1f}", "independent of"
         " the number of services"],
        ["server RSS, fleet running, no dashboard", f"{idle:.0f} MiB", ""],
        [f"server RSS, {DASHBOARDS} dashboards open", f"{loaded:.0f} MiB", ""],
        ["per open dashboard", f"{(loaded - idle) / DASHBOARDS:.1f} MiB", ""],
    ]  # fmt: skip
    text = table(["measure", "value", "goal"], rows)
    print(text)
    record(
        "dashboard",
        "Dashboard",
        "Time from navigation until the overview shows every service card (health computed"
        " from the latest samples over the API), in headless Chromium against `failcast up`"
        f" with the simulated fleet at {SERVICES} services; then the server's resident memory"
        f" with {DASHBOARDS} overview tabs polling every 2 s.\n\n" + text,
    )


if __name__ == "__main__":
    main()
