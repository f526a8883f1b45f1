"""A simulated browser (NiceGUI's `User`) on the dashboard pages, whose API calls go to a real
Failcast application with its own store."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from factories import started
from fastapi import FastAPI
from nicegui import core, ui
from nicegui.functions.download import download
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.testing.general import nicegui_reset_globals, prepare_simulation
from nicegui.testing.user import User

from failcast.app import create_app
from failcast.config import Settings
from failcast.ui.api import set_default_app
from failcast.ui.pages import register_pages


@pytest.fixture
async def api_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The Failcast API without the dashboard mounted: the pages' backend."""
    application = create_app(settings.model_copy(update={"dashboard_enabled": False}))
    async with started(application):
        yield application


@pytest.fixture
async def api(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def user(api_app: FastAPI) -> AsyncIterator[User]:
    """A simulated browser on the dashboard (pages at `/`, as NiceGUI's test user sees them)."""
    # Resetting NiceGUI's globals drops the modules that define pages; keep ours as they are so
    # the rest of the run sees the same classes.
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "failcast"}
    # NiceGUI's reset runs full garbage collections; after the rest of the suite the heap is
    # large enough that each took seconds. Objects alive now are left out of them.
    gc.freeze()
    try:
        with nicegui_reset_globals():
            os.environ["NICEGUI_USER_SIMULATION"] = "true"
            try:
                prepare_simulation()
                register_pages()
                set_default_app(api_app)
                ui.run(storage_secret="dashboard test secret", show_welcome_message=False)
                async with core.app.router.lifespan_context(core.app):
                    transport = httpx.ASGITransport(core.app)
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://test"
                    ) as client:
                        yield User(client)
            finally:
                os.environ.pop("NICEGUI_USER_SIMULATION", None)
                ui.navigate = Navigate()
                ui.notify = notify
                ui.download = download
    finally:
        sys.modules.update(saved)
