"""Any dashboard address that names no page: a page with the navigation, saying so, instead
of a bare JSON error."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from nicegui import core
from starlette.exceptions import HTTPException

from failcast.ui.layout import empty_state, page, page_body, signed_in_page

NOT_FOUND_PATH = "/not-found"
# NiceGUI's own files and the socket: a missing one is a missing file, answered as such.
_INTERNAL = "/_nicegui"


async def _not_found(request: Request, exc: Exception) -> Response:
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    if path.startswith(_INTERNAL) or request.method != "GET":
        assert isinstance(exc, HTTPException)
        return await http_exception_handler(request, exc)
    root = request.scope.get("root_path", "")
    return RedirectResponse(f"{root}{NOT_FOUND_PATH}?path={quote(path)}", status_code=303)


def register_not_found_page() -> None:
    @page(NOT_FOUND_PATH, title="Not found · Failcast")
    async def not_found(request: Request, path: str = "") -> None:
        ctx = await signed_in_page(request, "Not found", NOT_FOUND_PATH)
        if ctx is None:
            return
        with page_body():
            empty_state(
                "explore_off",
                "No such page",
                f"Nothing lives at `{path[:200] or '?'}`. Pick a page from the menu, or go back"
                " to the [overview](./).",
                marker="not-found",
            )

    core.app.add_exception_handler(404, _not_found)
