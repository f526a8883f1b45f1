"""ECharts option builders: plain dictionaries, so what each chart shows is testable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from failcast.ui.logic.graph_view import TopologyView
from failcast.ui.logic.timeseries import CostForecast
from failcast.ui.theme import ACCENT, SERIES, STATUS_COLOURS, Palette, status_colour

Options = dict[str, Any]
Points = Sequence[tuple[float, float]]


def _ms(points: Points) -> list[list[float]]:
    return [[t * 1000.0, v] for t, v in points]


def _base(palette: Palette) -> Options:
    return {
        "backgroundColor": "transparent",
        "textStyle": {"color": palette.text, "fontFamily": "Inter, system-ui, sans-serif"},
        "animation": False,
    }


def _time_axes(palette: Palette, y_name: str = "", y_max: float | None = None) -> Options:
    axis_line = {"lineStyle": {"color": palette.grid}}
    y: Options = {
        "type": "value",
        "name": y_name,
        "nameTextStyle": {"color": palette.muted},
        "axisLabel": {"color": palette.muted},
        "splitLine": {"lineStyle": {"color": palette.grid}},
        "scale": True,
    }
    if y_max is not None:
        y["max"] = y_max
    return {
        "grid": {"left": 48, "right": 16, "top": 28, "bottom": 28, "containLabel": True},
        "tooltip": {"trigger": "axis"},
        "xAxis": {
            "type": "time",
            "axisLine": axis_line,
            "axisLabel": {"color": palette.muted, "hideOverlap": True},
            "splitLine": {"show": False},
        },
        "yAxis": y,
    }


def gauge(value: float | None, label: str, palette: Palette) -> Options:
    """A 0-100 health gauge: red below 60, amber to 80, green above."""
    bands = [
        [0.6, STATUS_COLOURS["critical"]],
        [0.8, STATUS_COLOURS["warning"]],
        [1.0, STATUS_COLOURS["ok"]],
    ]
    return _gauge(value, label, palette, bands, "{value}")


def probability_gauge(probability: float | None, label: str, palette: Palette) -> Options:
    """P(failure) in percent: green below 10 %, amber to 25 %, red above."""
    bands = [
        [0.1, STATUS_COLOURS["ok"]],
        [0.25, STATUS_COLOURS["warning"]],
        [1.0, STATUS_COLOURS["critical"]],
    ]
    value = None if probability is None else probability * 100.0
    return _gauge(value, label, palette, bands, "{value}%")


def _gauge(
    value: float | None, label: str, palette: Palette, bands: list[list[Any]], fmt: str
) -> Options:
    shown = "—" if value is None else round(value)
    return {
        **_base(palette),
        "series": [
            {
                "type": "gauge",
                "min": 0,
                "max": 100,
                "startAngle": 210,
                "endAngle": -30,
                "radius": "95%",
                "center": ["50%", "58%"],
                # Without a value the bands are dimmed, so an empty gauge does not read as red.
                "axisLine": {"lineStyle": {"width": 14, "color": bands,
                                           "opacity": 1.0 if value is not None else 0.25}},
                "pointer": {"show": value is not None, "width": 5, "length": "58%",
                            "itemStyle": {"color": palette.text}},
                "anchor": {"show": False},
                "axisTick": {"show": False},
                "splitLine": {"show": False},
                "axisLabel": {"show": False},
                "title": {"show": True, "offsetCenter": [0, "72%"], "color": palette.muted,
                          "fontSize": 12},
                "detail": {
                    "valueAnimation": False,
                    "offsetCenter": [0, "30%"],
                    "fontSize": 30,
                    "fontWeight": 700,
                    "color": palette.text,
                    "formatter": fmt if value is not None else "—",
                },
                "data": [{"value": shown if value is not None else 0, "name": label}],
            }
        ],
    }  # fmt: skip


def metric_chart(
    name: str,
    points: Points,
    palette: Palette,
    *,
    anomalies: Points = (),
    band: tuple[Points, Points] | None = None,
    forecast: Points = (),
    unit: str = "",
    threshold: float | None = None,
) -> Options:
    """A metric over time, anomalous points marked red, with an optional forecast, its band
    and the threshold it is forecast against."""
    series: list[Options] = [
        {
            "name": name,
            "type": "line",
            "showSymbol": False,
            "data": _ms(points),
            "lineStyle": {"width": 2, "color": ACCENT},
            "itemStyle": {"color": ACCENT},
        }
    ]
    if threshold is not None:
        series[0]["markLine"] = {
            "silent": True,
            "symbol": "none",
            "data": [{"yAxis": threshold, "name": "threshold"}],
            "lineStyle": {"color": STATUS_COLOURS["critical"], "type": "dotted"},
            "label": {"color": palette.muted, "formatter": "threshold {c}"},
        }
    if band is not None:
        series += _band_series(band[0], band[1], "expected range")
    if forecast:
        series.append(
            {
                "name": "forecast",
                "type": "line",
                "showSymbol": False,
                "data": _ms(forecast),
                "lineStyle": {"type": "dashed", "color": SERIES[1]},
                "itemStyle": {"color": SERIES[1]},
            }
        )
    if anomalies:
        series.append(
            {
                "name": "anomaly",
                "type": "scatter",
                "symbolSize": 9,
                "data": _ms(anomalies),
                "itemStyle": {"color": STATUS_COLOURS["critical"]},
                "z": 5,
            }
        )
    return {
        **_base(palette),
        **_time_axes(palette, unit),
        "legend": {"show": len(series) > 1, "top": 0, "right": 0,
                   "textStyle": {"color": palette.muted}},
        "series": series,
    }  # fmt: skip


def _band_series(lower: Points, upper: Points, name: str) -> list[Options]:
    # A band is two stacked areas: the lower edge invisible, the width shaded on top of it.
    width = [
        [t * 1000.0, max(0.0, hi - lo)] for (t, lo), (_, hi) in zip(lower, upper, strict=False)
    ]
    return [
        {"name": name, "type": "line", "stack": name, "symbol": "none", "data": _ms(lower),
         "lineStyle": {"opacity": 0}, "areaStyle": {"opacity": 0}, "tooltip": {"show": False}},
        {"name": name, "type": "line", "stack": name, "symbol": "none", "data": width,
         "lineStyle": {"opacity": 0}, "areaStyle": {"opacity": 0.18, "color": SERIES[1]}},
    ]  # fmt: skip


def cost_chart(cost: CostForecast, palette: Palette) -> Options:
    """Fleet cost per hour so far, and the forecast with its 95 % band."""
    return {
        **_base(palette),
        **_time_axes(palette, "$/h"),
        "legend": {"top": 0, "right": 0, "textStyle": {"color": palette.muted}},
        "series": [
            {
                "name": "cost",
                "type": "line",
                "showSymbol": False,
                "data": _ms(cost.history),
                "lineStyle": {"width": 2, "color": ACCENT},
                "itemStyle": {"color": ACCENT},
                "areaStyle": {"opacity": 0.08, "color": ACCENT},
            },
            *_band_series(cost.lower, cost.upper, "95% band"),
            {
                "name": "forecast",
                "type": "line",
                "showSymbol": False,
                "data": _ms(cost.forecast),
                "lineStyle": {"type": "dashed", "color": SERIES[1]},
                "itemStyle": {"color": SERIES[1]},
            },
        ],
    }


def horizon_chart(
    by_service: Mapping[str, Mapping[int, float]], palette: Palette, limit: int = 6
) -> Options:
    """P(failure within h hours) for h = 0..72, one line per riskiest service."""
    ranked = sorted(by_service.items(), key=lambda kv: -max(kv[1].values(), default=0.0))
    series = []
    for i, (service, horizons) in enumerate(ranked[:limit]):
        data = [[0, 0.0]] + [[h, round(p * 100.0, 2)] for h, p in sorted(horizons.items())]
        colour = SERIES[i % len(SERIES)]
        series.append(
            {"name": service, "type": "line", "data": data, "smooth": True,
             "lineStyle": {"color": colour, "width": 2}, "itemStyle": {"color": colour}}
        )  # fmt: skip
    return {
        **_base(palette),
        "grid": {"left": 40, "right": 16, "top": 56, "bottom": 28, "containLabel": True},
        "tooltip": {"trigger": "axis", "valueFormatter": "(v) => v + '%'"},
        "legend": {"top": 0, "type": "scroll", "textStyle": {"color": palette.muted}},
        "xAxis": {
            "type": "value", "min": 0, "max": 72, "interval": 24, "name": "hours ahead",
            "nameLocation": "middle", "nameGap": 24, "nameTextStyle": {"color": palette.muted},
            "axisLabel": {"color": palette.muted, "formatter": "+{value} h"},
            "splitLine": {"lineStyle": {"color": palette.grid}},
        },
        "yAxis": {
            "type": "value", "min": 0, "max": 100, "name": "P(failure) %",
            "nameTextStyle": {"color": palette.muted}, "axisLabel": {"color": palette.muted},
            "splitLine": {"lineStyle": {"color": palette.grid}},
        },
        "series": series,
    }  # fmt: skip


def topology_chart(view: TopologyView, palette: Palette) -> Options:
    """The dependency graph: nodes coloured by health, sized by tier, labelled with cascade
    risk; the critical path's edges drawn thick in the accent colour."""
    on_path = set(zip(view.path, view.path[1:], strict=False))
    path_nodes = set(view.path)
    nodes = []
    for node in view.nodes:
        name = str(node["id"])
        status = str(node.get("health_status") or "unknown")
        risk = view.cascade.get(name)
        label = name if risk is None else f"{name}\n{risk:.0%}"
        nodes.append(
            {
                "id": name,
                "name": name,
                "value": risk if risk is not None else 0.0,
                "symbolSize": {1: 34, 2: 26, 3: 20}.get(int(node.get("tier") or 2), 24),
                "symbol": {"ml_model": "diamond", "data_pipeline": "rect"}.get(
                    str(node.get("kind")), "circle"
                ),
                "itemStyle": {
                    "color": status_colour(status),
                    "borderColor": ACCENT if name in path_nodes else palette.surface,
                    "borderWidth": 3 if name in path_nodes else 1,
                },
                "label": {"show": True, "position": "bottom", "distance": 6,
                          "color": palette.text, "fontSize": 11, "formatter": label,
                          "backgroundColor": palette.surface, "padding": [1, 3],
                          "borderRadius": 3},
                "status": status,
            }
        )  # fmt: skip
    links = []
    for edge in view.edges:
        hot = (edge["source"], edge["target"]) in on_path
        links.append(
            {
                "source": edge["source"],
                "target": edge["target"],
                "lineStyle": {
                    "color": ACCENT if hot else palette.muted,
                    "width": 4 if hot else 1.2,
                    "opacity": 1.0 if hot else 0.55,
                    "type": "solid" if edge.get("criticality", "hard") == "hard" else "dashed",
                    "curveness": 0.08,
                },
            }
        )
    return {
        **_base(palette),
        "tooltip": {},
        "series": [
            {
                "type": "graph",
                "layout": "force",
                "roam": True,
                "draggable": True,
                # Labels sit below their node on the card's colour and give way where they
                # would cover another; gravity keeps a small (phone) canvas holding the graph.
                "force": {"repulsion": 700, "edgeLength": [90, 180], "gravity": 0.12},
                "labelLayout": {"hideOverlap": True},
                "edgeSymbol": ["none", "arrow"],
                "edgeSymbolSize": 7,
                "emphasis": {"focus": "adjacency"},
                "data": nodes,
                "links": links,
            }
        ],
    }


def burn_down(remaining: Points, palette: Palette) -> Options:
    """Error budget remaining over time (rolling window), with the line where it runs out."""
    return {
        **_base(palette),
        **_time_axes(palette, "budget left %"),
        "series": [
            {"name": "budget left", "type": "line", "showSymbol": len(remaining) < 30,
             "data": [[t * 1000.0, round(v * 100.0, 2)] for t, v in remaining],
             "lineStyle": {"width": 2, "color": ACCENT}, "itemStyle": {"color": ACCENT},
             "areaStyle": {"opacity": 0.1, "color": ACCENT},
             "markLine": {"silent": True, "symbol": "none", "data": [{"yAxis": 0}],
                          "lineStyle": {"color": STATUS_COLOURS["critical"], "type": "dashed"},
                          "label": {"color": palette.muted, "formatter": "exhausted"}}},
        ],
    }  # fmt: skip


def reliability(bins: Sequence[tuple[float, float, int]], palette: Palette) -> Options:
    """Reliability diagram: observed failure rate per predicted-probability bin."""
    return {
        **_base(palette),
        "grid": {"left": 40, "right": 16, "top": 24, "bottom": 36, "containLabel": True},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "value", "min": 0, "max": 1, "name": "predicted",
                  "nameLocation": "middle", "nameGap": 24, "axisLabel": {"color": palette.muted},
                  "splitLine": {"lineStyle": {"color": palette.grid}}},
        "yAxis": {"type": "value", "min": 0, "max": 1, "name": "observed",
                  "axisLabel": {"color": palette.muted},
                  "splitLine": {"lineStyle": {"color": palette.grid}}},
        "series": [
            {"name": "perfect", "type": "line", "data": [[0, 0], [1, 1]], "showSymbol": False,
             "lineStyle": {"type": "dashed", "color": palette.muted}},
            {"name": "model", "type": "line", "data": [[p, o] for p, o, _ in bins],
             "symbolSize": next(max(6, min(20, n ** 0.5)) for _, _, n in bins) if bins else 6,
             "lineStyle": {"color": ACCENT, "width": 2}, "itemStyle": {"color": ACCENT}},
        ],
    }  # fmt: skip
