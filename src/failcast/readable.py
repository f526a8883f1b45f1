"""Numbers and failure-model factors as a person reads them: a unit taken from the metric's
name, a precision that fits the value, and factors as sentences. Pure and dependency-free,
shared by the dashboard and the command line."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# A metric's unit from how its name ends; fractions (rates, shares) are shown as percentages.
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_ms", "ms"), ("_seconds", "s"), ("_minutes", "min"), ("_min", "min"), ("_hours", "h"),
    ("_pct", "%"), ("_percent", "%"), ("_rate", "fraction"), ("_share", "fraction"),
    ("_ratio", "fraction"), ("_rps", "req/s"), ("_bytes", "B"), ("_usd_per_hour", "$/h"),
    ("_usd", "$"), ("accuracy", "fraction"),
)  # fmt: skip


def unit_of(metric: str) -> str:
    """The unit a metric name implies (`latency_p99_ms` -> `ms`), or "" when it names none."""
    for suffix, unit in _UNIT_SUFFIXES:
        if metric.endswith(suffix):
            return unit
    return ""


def metric_label(metric: str) -> str:
    """A metric name without the unit its suffix spells: `latency_p99_ms` -> `latency p99`."""
    for suffix, _ in _UNIT_SUFFIXES:
        if (
            metric.endswith(suffix)
            and suffix.startswith("_")
            and suffix not in ("_rate", "_share", "_ratio")
        ):
            metric = metric.removesuffix(suffix)
            break
    return metric.replace("_", " ")


def fmt_value(value: float, unit: str = "") -> str:
    """A value with its unit and a precision a person reads: `420 ms`, `7.2%`, `0.91 h`."""
    if not math.isfinite(value):
        return "—"
    if unit == "fraction":
        value, unit = value * 100.0, "%"
    magnitude = abs(value)
    if magnitude != 0 and magnitude < 0.01:
        text = "about 0"
    elif magnitude >= 100:
        text = f"{value:,.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}".removesuffix(".0")
    else:
        text = f"{value:.2f}".rstrip("0").rstrip(".")
    if unit == "$":
        return f"${text}"
    if unit == "$/h":
        return f"${text}/h"
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}" if unit else text


# The kind of behaviour a feature measures, recognised from words in its name. The feature set
# changes as the model does; anything unrecognised still reads as "behaving unusually".
_BEHAVIOURS: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    (("slope", "trend", "rising", "growth"), "trending {direction}", False),
    (("ratio", "relative"), "at {v} times its usual level", False),
    (("dev", "sigma", "z", "zscore", "seasonal"), "{v} standard deviations from its usual level",
     False),
    (("detector", "anomaly"), "behaving unusually (anomaly score {v})", False),
    (("limit",), "reaching its limit in {v} h at the current trend", False),
    (("max", "peak"), "peaking at {v}", True),
    (("min", "low"), "dropping to {v}", True),
    (("std", "var", "volatility"), "varying by {v}", True),
    (("mean", "avg", "ewma", "level", "last"), "averaging {v}", True),
    (("missing", "gap", "stale"), "missing data ({v})", False),
)  # fmt: skip


def _words(text: str) -> set[str]:
    return {w for w in text.replace("-", "_").split("_") if w and not w.isdigit()}


def describe_factor(factor: Mapping[str, Any]) -> str:
    """A failure-model factor (`feature`, `metric`, `value`, `contribution`) as a sentence:
    the metric, the kind of behaviour, the value with its unit, and which way it pushes."""
    feature = str(factor.get("feature") or "")
    if not feature:
        return str(factor.get("statement") or "")
    metric = factor.get("metric") or (feature.partition("__")[0] if "__" in feature else None)
    raw = factor.get("value")
    value = float(raw) if isinstance(raw, int | float) else math.nan
    contribution = float(factor.get("contribution") or 0.0)
    push = "raises the risk" if contribution > 0 else "lowers the risk"
    if metric:
        words = _words(feature.partition("__")[2])
        unit = unit_of(str(metric))
        behaviour = "behaving unusually ({v})"
        for marks, phrase, in_unit in _BEHAVIOURS:
            if words & set(marks):
                behaviour = phrase.replace("{v}", fmt_value(value, unit if in_unit else ""))
                behaviour = behaviour.replace("{direction}", "up" if value >= 0 else "down")
                break
        else:
            behaviour = behaviour.replace("{v}", fmt_value(value, unit))
        if not math.isfinite(value):
            behaviour = "not reporting"
        name = metric_label(str(metric))
    else:
        name = feature.replace("_", " ")
        behaviour = f"at {fmt_value(value)}" if math.isfinite(value) else "missing"
    return f"{name[:1].upper()}{name[1:]} {behaviour}: {push}."
