"""The reliability report as a PDF, laid out with reportlab's platypus.

reportlab is pure Python (no system libraries, unlike WeasyPrint's Pango), so the same PDF
comes out of a slim container, a laptop and CI; charts are matplotlib PNGs placed as images.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from failcast.reports import charts
from failcast.reports.data import ReportData

INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#6b7280")
LINE = colors.HexColor("#e5e7eb")
HEAD = colors.HexColor("#f3f4f6")
ACCENT = colors.HexColor("#2563eb")
STATUS = {
    "ok": colors.HexColor("#15803d"),
    "warning": colors.HexColor("#b45309"),
    "critical": colors.HexColor("#b91c1c"),
    "unknown": MUTED,
}
LEVEL = {
    "critical": colors.HexColor("#b91c1c"),
    "high": colors.HexColor("#c2410c"),
    "medium": colors.HexColor("#b45309"),
    "low": MUTED,
}
MAX_INCIDENT_ROWS = 25
WIDTH = A4[0] - 36 * mm

_base = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("title", parent=_base["Title"], fontSize=20, leading=24,
                            alignment=0, textColor=INK, spaceAfter=2),
    "period": ParagraphStyle("period", parent=_base["Normal"], fontSize=10, textColor=MUTED,
                             spaceAfter=10),
    "h2": ParagraphStyle("h2", parent=_base["Heading2"], fontSize=13, textColor=INK,
                         spaceBefore=12, spaceAfter=6),
    "body": ParagraphStyle("body", parent=_base["Normal"], fontSize=9.5, leading=13,
                           textColor=INK),
    "small": ParagraphStyle("small", parent=_base["Normal"], fontSize=8, leading=10,
                            textColor=MUTED),
    "cell": ParagraphStyle("cell", parent=_base["Normal"], fontSize=8.5, leading=10.5,
                           textColor=INK),
    "kpi": ParagraphStyle("kpi", parent=_base["Normal"], fontSize=18, leading=22,
                          alignment=TA_CENTER, textColor=INK),
    "kpi_label": ParagraphStyle("kpi_label", parent=_base["Normal"], fontSize=8,
                                alignment=TA_CENTER, textColor=MUTED),
}  # fmt: skip


def _p(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(text), STYLES[style])


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 120:
        return f"{value / 60:.1f} h"
    return f"{value:.0f} min"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float]) -> Table:
    cells = [[_p(h, "cell") for h in header]]
    cells += [[c if isinstance(c, Paragraph) else _p(str(c), "cell") for c in r] for r in rows]
    table = Table(cells, colWidths=[w * WIDTH for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle([
            ("BACKGROUND", (0, 0), (-1, 0), HEAD),
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ])
    )  # fmt: skip
    return table


def _coloured(text: str, colour: colors.Color) -> Paragraph:
    return Paragraph(f'<font color="{colour.hexval()}"><b>{escape(text)}</b></font>',
                     STYLES["cell"])  # fmt: skip


def _kpis(data: ReportData) -> Table:
    health = "-" if data.health_now is None else f"{data.health_now:.0f}"
    slo_met = sum(1 for s in data.slos if s.state == "met")
    judged = sum(1 for s in data.slos if s.state in ("met", "breached"))
    figures = [
        (health, f"health now ({data.health_status})"),
        (str(len(data.incidents)), "incidents"),
        (_minutes(data.mttr_minutes), "mean time to recover"),
        (f"{slo_met}/{judged}" if judged else "-", "SLOs met"),
    ]
    colour = STATUS.get(data.health_status, MUTED)
    inks = [colour.hexval(), INK.hexval(), INK.hexval(), INK.hexval()]
    cells = [[Paragraph(f'<font color="{ink}"><b>{escape(v)}</b></font>', STYLES["kpi"])
              for (v, _), ink in zip(figures, inks, strict=True)],
             [_p(label, "kpi_label") for _, label in figures]]  # fmt: skip
    table = Table(cells, colWidths=[WIDTH / 4] * 4)
    table.setStyle(
        TableStyle([
            ("BOX", (0, 0), (0, 1), 0.8, colour),
            ("BOX", (1, 0), (1, 1), 0.8, LINE),
            ("BOX", (2, 0), (2, 1), 0.8, LINE),
            ("BOX", (3, 0), (3, 1), 0.8, LINE),
            ("TOPPADDING", (0, 0), (-1, 0), 8),
            ("BOTTOMPADDING", (0, 1), (-1, 1), 8),
        ])
    )  # fmt: skip
    return table


def _chart(png: bytes, height_mm: float = 62) -> Image:
    image = Image(io.BytesIO(png), width=WIDTH, height=height_mm * mm)
    return image


def _incidents(data: ReportData) -> list[Any]:
    parts: list[Any] = [_p("Incidents and recovery", "h2")]
    points = [(i.started_at, i.type) for i in data.incidents]
    parts.append(_chart(charts.incidents_per_day(points, data.start, data.end), 55))
    if not data.incidents:
        parts.append(_p("No incident started in this period."))
        return parts
    by_type = []
    for kind, count in data.incidents_by_type().items():
        minutes = [i.minutes for i in data.incidents if i.type == kind and i.minutes is not None]
        mean = sum(minutes) / len(minutes) if minutes else None
        by_type.append([kind.replace("_", " "), count, _minutes(mean)])
    parts += [Spacer(1, 4), _table(["type", "incidents", "mean time to recover"], by_type,
                                   [0.5, 0.2, 0.3])]  # fmt: skip
    rows = [
        [i.service, i.type.replace("_", " "), i.title or "-", _when(i.started_at),
         _minutes(i.minutes) if i.ended_at else "ongoing"]
        for i in data.incidents[:MAX_INCIDENT_ROWS]
    ]  # fmt: skip
    parts += [Spacer(1, 8),
              _table(["service", "type", "title", "started", "lasted"], rows,
                     [0.17, 0.18, 0.29, 0.22, 0.14])]  # fmt: skip
    hidden = len(data.incidents) - MAX_INCIDENT_ROWS
    if hidden > 0:
        parts.append(_p(f"and {hidden} more; export them with GET /api/v1/export/incidents.",
                        "small"))  # fmt: skip
    return parts


def _slos(data: ReportData) -> list[Any]:
    parts: list[Any] = [_p("SLO compliance", "h2")]
    if not data.slos:
        return [*parts, _p("No SLO is defined; define objectives under /api/v1/slos.")]
    colour = {"met": STATUS["ok"], "breached": STATUS["critical"]}
    rows = [
        [s.name, s.service, _pct(s.objective, 2), _pct(s.sli, 3), _pct(s.budget_remaining, 0),
         _coloured(s.state, colour.get(s.state, MUTED))]
        for s in data.slos
    ]  # fmt: skip
    return [*parts, _table(["SLO", "service", "objective", "SLI", "budget left", "status"],
                           rows, [0.24, 0.18, 0.14, 0.14, 0.14, 0.16])]  # fmt: skip


def _predictions(data: ReportData) -> list[Any]:
    parts: list[Any] = [_p("Predictions against what happened", "h2")]
    if not data.predictions:
        return [*parts, _p("No prediction made in this period has reached its horizon yet.")]
    rows = [
        [f"{p.horizon_hours} h", p.judged, p.alarms, p.hits, p.false_alarms, p.missed,
         _pct(p.precision, 0), _pct(p.recall, 0), f"{p.brier:.3f}"]
        for p in data.predictions
    ]  # fmt: skip
    header = ["horizon", "judged", "alarms", "caught", "false alarms", "missed", "precision",
              "recall", "Brier"]  # fmt: skip
    parts.append(_table(header, rows, [0.1, 0.1, 0.1, 0.1, 0.13, 0.1, 0.12, 0.1, 0.15]))
    parts.append(
        _p(
            "caught: an alarm before an incident that followed within the horizon; "
            "Brier: mean squared error of the probabilities (0 is perfect).",
            "small",
        )
    )
    return parts


def _risks(data: ReportData) -> list[Any]:
    parts: list[Any] = [_p("Top risks", "h2")]
    if not data.risks:
        return [*parts, _p("No service is above low risk at the end of the period.")]
    rows = [[r.service, _coloured(r.level, LEVEL.get(r.level, MUTED)),
             "; ".join(r.reasons) or "-"] for r in data.risks]  # fmt: skip
    return [*parts, _table(["service", "risk", "why"], rows, [0.22, 0.12, 0.66])]


def render(data: ReportData) -> bytes:
    """The report as PDF bytes."""
    buffer = io.BytesIO()
    title = f"Reliability report: {data.org_name}"
    period = f"{_when(data.start)} to {_when(data.end)}"

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setStrokeColor(ACCENT)
        canvas.setLineWidth(2)
        canvas.line(18 * mm, A4[1] - 12 * mm, A4[0] - 18 * mm, A4[1] - 12 * mm)
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(18 * mm, 10 * mm, f"Failcast · {data.org_name} · {period}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
        bottomMargin=18 * mm, title=title, author="Failcast", subject=period,
    )  # fmt: skip
    story: list[Any] = [
        _p(title, "title"),
        _p(f"{period} · {data.services} services · {data.plan} plan · "
           f"generated {_when(data.generated_at)}", "period"),
        _kpis(data),
        _p("Executive summary", "h2"),
        _p(data.summary),
    ]  # fmt: skip
    alerts = ", ".join(f"{n} {sev}" for sev, n in sorted(data.alerts_by_severity.items()))
    story.append(Spacer(1, 4))
    story.append(_p(f"Alerts fired in the period: {alerts or 'none'}."))
    story += [_p("Health over the period", "h2"), _chart(charts.health_trend(data.trend))]
    story += _incidents(data)
    story.append(KeepTogether(_slos(data)))
    story.append(KeepTogether(_predictions(data)))
    story.append(KeepTogether(_risks(data)))
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
