"""Colours, the page stylesheet and the chart palette for the dark and light themes."""

from __future__ import annotations

from dataclasses import dataclass

STATUS_COLOURS: dict[str, str] = {
    "ok": "#22c55e",
    "warning": "#f59e0b",
    "critical": "#ef4444",
    "unknown": "#64748b",
}
SEVERITY_COLOURS: dict[str, str] = {
    "critical": "#ef4444",
    "high": "#f97316",
    "error": "#f97316",
    "warning": "#f59e0b",
    "medium": "#f59e0b",
    "low": "#38bdf8",
    "info": "#64748b",
}
ACCENT = "#7c6cf6"
SERIES = ["#7c6cf6", "#22d3ee", "#f472b6", "#a3e635", "#fb923c", "#60a5fa", "#facc15"]


@dataclass(frozen=True)
class Palette:
    """Chart colours for one theme."""

    dark: bool
    text: str
    muted: str
    grid: str
    surface: str

    @classmethod
    def of(cls, dark: bool) -> Palette:
        if dark:
            return cls(True, "#e2e8f0", "#94a3b8", "#1f2937", "#111827")
        return cls(False, "#0f172a", "#64748b", "#e5e7eb", "#ffffff")


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, STATUS_COLOURS["unknown"])


def severity_colour(severity: str) -> str:
    return SEVERITY_COLOURS.get(severity, SEVERITY_COLOURS["info"])


# Quasar's dark mode sets `body.body--dark`; the variables below follow it so cards, borders
# and muted text switch with the theme without per-element classes.
CSS = """
:root { --fc-bg: #f6f7fb; --fc-card: #ffffff; --fc-border: #e5e7eb; --fc-muted: #64748b;
        --fc-text: #0f172a; --fc-accent: #7c6cf6; --fc-code: #f1f5f9; }
body.body--dark { --fc-bg: #0b0f17; --fc-card: #111827; --fc-border: #1f2937;
        --fc-muted: #94a3b8; --fc-text: #e2e8f0; --fc-code: #0f172a; }
body { background: var(--fc-bg); color: var(--fc-text);
       font-family: Inter, ui-sans-serif, system-ui, -apple-system, "Segoe UI", sans-serif; }
.fc-card { background: var(--fc-card); border: 1px solid var(--fc-border); border-radius: 12px;
           box-shadow: none; }
.fc-muted { color: var(--fc-muted); }
.fc-title { font-size: 1.35rem; font-weight: 650; letter-spacing: -0.01em; }
.fc-kpi { font-size: 1.9rem; font-weight: 700; line-height: 1.1;
          font-variant-numeric: tabular-nums; }
.fc-label { font-size: .72rem; text-transform: uppercase; letter-spacing: .06em;
            color: var(--fc-muted); font-weight: 600; }
.fc-dot { width: 10px; height: 10px; border-radius: 999px; display: inline-block; flex: none; }
.fc-code { background: var(--fc-code); border: 1px solid var(--fc-border); border-radius: 8px;
           font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .78rem;
           white-space: pre-wrap; word-break: break-all; padding: 10px 12px; }
.fc-header { background: var(--fc-card) !important; color: var(--fc-text) !important;
             border-bottom: 1px solid var(--fc-border); }
.fc-drawer { background: var(--fc-card) !important; border-right: 1px solid var(--fc-border); }
.fc-nav a { color: var(--fc-text); text-decoration: none; border-radius: 8px; padding: 8px 12px;
            display: flex; gap: 10px; align-items: center; font-weight: 500; }
.fc-nav a:hover { background: rgba(124,108,246,.12); }
.fc-nav a.fc-active { background: rgba(124,108,246,.18); color: var(--fc-accent); }
.fc-service { border-left: 4px solid var(--fc-status); cursor: pointer; }
.fc-service:hover { border-color: var(--fc-accent); border-left-color: var(--fc-status); }
.fc-grid { display: grid; gap: 16px; width: 100%;
           grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); }
.fc-row2 { display: grid; gap: 16px; width: 100%; grid-template-columns: 1fr; }
@media (min-width: 900px) { .fc-row2 { grid-template-columns: 1fr 1fr; }
                            .fc-row3 { grid-template-columns: 1fr 1fr 1fr !important; } }
.fc-row3 { display: grid; gap: 16px; width: 100%; grid-template-columns: 1fr; }
.fc-auth { max-width: 420px; width: 100%; }
.q-table__container { background: var(--fc-card) !important; border: 1px solid var(--fc-border);
                      box-shadow: none !important; border-radius: 12px; }
/* On a phone nothing may push the page wider than the screen: grid cells and cards may shrink
   below their content's width, and a wide table scrolls inside its own box. */
.fc-grid > *, .fc-row2 > *, .fc-row3 > * { min-width: 0; }
.fc-card { min-width: 0; max-width: 100%; }
.q-table__container { max-width: 100%; overflow-x: auto; }
.fc-card .q-markdown, .fc-card .nicegui-markdown { overflow-wrap: anywhere; }
"""
