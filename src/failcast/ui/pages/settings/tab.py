"""What every settings tab shares: the page's context, a box of its own, and a way to redraw
another tab after a change that shows there too."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

from nicegui import ui

from failcast.ui.layout import PageContext


class Tab(ABC):
    def __init__(
        self, ctx: PageContext, box: ui.column, redraw: Callable[[str], Awaitable[None]]
    ) -> None:
        self.ctx = ctx
        self.box = box
        self.redraw = redraw

    @abstractmethod
    async def draw(self) -> None:
        """Clear the box and draw the tab from fresh answers."""

    def admins_only(self, what: str) -> bool:
        """Say so and answer True when the caller may not manage `what`."""
        if self.ctx.can_admin:
            return False
        with self.box:
            ui.label(f"Only owners and admins manage {what}.").classes("fc-muted")
        return True
