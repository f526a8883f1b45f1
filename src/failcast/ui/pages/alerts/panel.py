"""What every side panel of the alerts page (silences, maintenance windows, alert rules)
shares: the page's context, the API list it shows, a box of its own for that list, and a way to
redraw every panel after a change."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from failcast.ui.layout import PageContext


class Panel(ABC):
    # The API path of the list the panel shows; the page fetches every panel's list together.
    path = ""
    box: ui.column

    def __init__(self, ctx: PageContext, changed: Callable[[], Awaitable[None]]) -> None:
        self.ctx = ctx
        self.changed = changed

    @abstractmethod
    def build(self) -> None:
        """Draw the panel's card: its form for those who may write, then the list's box."""

    @abstractmethod
    def signature(self, items: list[dict[str, Any]]) -> tuple[Any, ...]:
        """What of `items` the panel shows: the page redraws it only when this changes."""

    @abstractmethod
    def draw(self, items: list[dict[str, Any]]) -> None:
        """Clear the box and list `items` in it."""
