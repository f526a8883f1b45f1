"""API keys: create one (shown once), list them, revoke one."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.pages.settings.tab import Tab

SCOPES = ["ingest", "read", "write", "admin"]


def key_rows(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """API keys as table rows; revoked keys last."""
    rows = [
        {
            "id": k["id"],
            "name": k["name"],
            "prefix": k["prefix"] + "…",
            "scopes": ", ".join(k["scopes"]),
            "created": str(k["created_at"])[:10],
            "last_used": str(k.get("last_used_at") or "never")[:16].replace("T", " "),
            "state": "revoked" if k.get("revoked_at") else "active",
        }
        for k in keys
    ]
    return sorted(rows, key=lambda r: (r["state"] != "active", -int(r["id"])))


class KeysTab(Tab):
    async def draw(self) -> None:
        box = self.box
        box.clear()
        if self.admins_only("API keys"):
            return
        with box:
            with (
                card("Create a key", "for the SDK, Prometheus, OTLP or CI"),
                ui.row().classes("w-full items-end gap-3"),
            ):
                name = (
                    ui.input("Name", placeholder="checkout-prod ingest")
                    .classes("grow min-w-[200px]")
                    .mark("key-name")
                )
                scopes = ui.select(SCOPES, value=["ingest", "read"], multiple=True,
                                   label="Scopes").classes("min-w-[220px]")  # fmt: skip

                async def create() -> None:
                    try:
                        created = await self.ctx.api.post(
                            "/api/v1/api-keys", {"name": name.value, "scopes": scopes.value}
                        )
                    except ApiError as exc:
                        self.ctx.report.error(exc, "Could not create the key")
                        return
                    # Redraw the list first: the redraw clears the box the dialog lives in.
                    await self.draw()
                    with self.box:
                        self._show_key(str(created["key"]))

                ui.button("Create", icon="add", on_click=create).mark("create-key")
            keys = await self.ctx.api.get("/api/v1/api-keys")
            with card("Keys"):
                if not keys:
                    ui.label("No keys yet.").classes("fc-muted text-sm").mark("no-keys")
                    return
                table = ui.table(
                    columns=[
                        {"name": c, "label": label, "field": c, "align": "left"}
                        for c, label in (
                            ("name", "Name"), ("prefix", "Key"), ("scopes", "Scopes"),
                            ("created", "Created"), ("last_used", "Last used"),
                            ("state", "State"),
                        )
                    ] + [{"name": "actions", "label": "", "field": "id"}],
                    rows=key_rows(keys),
                    row_key="id",
                ).props("dense flat").classes("w-full").mark("key-table")  # fmt: skip
                table.add_slot(
                    "body-cell-actions",
                    '<q-td :props="props"><q-btn v-if="props.row.state === \'active\'" flat dense'
                    ' color="negative" label="Revoke"'
                    " @click=\"() => $parent.$emit('revoke', props.row)\" /></q-td>",
                )
                table.on("revoke", lambda e: self._revoke(int(e.args["id"]), e.args["name"]))

    def _show_key(self, key: str) -> None:
        with ui.dialog() as dialog, ui.card().classes("fc-card p-4 gap-3 w-full max-w-xl"):
            ui.label("Your new key").classes("text-lg font-semibold")
            ui.label("Copy it now: it is shown only once.").classes("text-warning text-sm")
            ui.code(key).classes("w-full").mark("new-key")
            with ui.row().classes("w-full justify-end"):
                ui.button("Copy", icon="content_copy",
                          on_click=lambda: ui.clipboard.write(key)).props("flat")  # fmt: skip
                ui.button("Done", on_click=dialog.close)
        dialog.open()

    async def _revoke(self, key_id: int, name: str) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/api-keys/{key_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not revoke the key")
            return
        await self.draw()
        ui.notify(f"Revoked {name}; requests with it are refused from now on.", type="positive")
