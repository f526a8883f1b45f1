"""End-to-end runs need the dashboard, a simulator that ticks in real time, and alert rules
evaluated and services scored on a quicker clock: every 60 s and every 15 min in production,
which a two-minute test cannot wait for. The fleet has no organic failures here, so that the
only failures are those a test injects."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from factories import LiveServer, free_port

from failcast.app import create_app
from failcast.config import Settings
from failcast.deps import services_of

ALERTING_EVERY_S = 2.0
SCORING_EVERY_S = 3.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "dashboard_enabled": True,
            "simulator_tick_seconds": 2.0,
            "simulator_organic_failures": False,
            "periodic_jobs": True,
        }
    )


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The app on a loopback port, with the alerting and scoring jobs also run every few
    seconds by the app's own runner."""
    import uvicorn

    application = create_app(settings)
    services_of(application).runner.every(ALERTING_EVERY_S, "alerting.evaluate")
    services_of(application).runner.every(SCORING_EVERY_S, "predict.score")
    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", application)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
