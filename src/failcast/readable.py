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


# The kind of behaviour a feature measures, recognised from words in its name, with how its
# value reads: in the metric's own unit, as a share, in standard deviations, hours, a count or
# a score. Features change as the model does; anything unrecognised still reads as a sentence.
_BEHAVIOURS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("headroom",), "reaching its limit in {v} at the current trend", "hours"),
    (("limit",), "reaching its limit in {v} at the current trend", "hours"),
    (("used",), "at {v} of its limit", "share"),
    (("missing", "gap", "stale"), "missing {v} of its recent data", "share"),
    (("restarts",), "restarting {v} times", "count"),
    (("creep",), "{v} above its quietest day of the week", "share"),
    (("level",), "{v} standard deviations worse than its weekly norm", "sigma"),
    (("shift",), "{v} standard deviations worse than over the last day", "sigma"),
    (("seasonal",), "{v} standard deviations off its usual level for the hour", "sigma"),
    (("volatility",), "varying more than usual ({v})", "score"),
    (("anomaly", "detector"), "behaving unusually (anomaly score {v})", "score"),
    (("change",), "shifting level (change score {v})", "score"),
    (("slope", "trend", "growth"), "trending {direction}", "none"),
    (("ratio", "relative"), "at {v} times its usual level", "score"),
    (("dev", "sigma", "z", "zscore"), "{v} standard deviations from its usual level", "sigma"),
    (("max", "peak"), "peaking at {v}", "metric"),
    (("min", "low"), "dropping to {v}", "metric"),
    (("std", "var"), "varying by {v}", "metric"),
    (("mean", "avg", "ewma", "last"), "averaging {v}", "metric"),
)  # fmt: skip


def _words(text: str) -> set[str]:
    return {w for w in text.replace("-", "_").split("_") if w and not w.isdigit()}


def _reading(value: float, kind: str, unit: str) -> str:
    if kind == "metric":
        return fmt_value(value, unit)
    if kind == "share":
        return fmt_value(value, "fraction")
    if kind == "hours":
        return f"~{value:.0f} h"
    if kind == "count":
        return f"{value:.0f}"
    if kind == "sigma":
        return f"{value:.1f}"
    return fmt_value(value)


def describe_factor(factor: Mapping[str, Any]) -> str:
    """A failure-model factor (`feature`, `metric`, `value`, `contribution`) as a sentence: what
    it is about, the kind of behaviour, the value in its unit, and which way it pushes.

    A feature is named `subject__behaviour[__aggregate]`; the subject is a metric, a group of
    metrics (`latency`) or `any`, and `metric` names the series behind it when known.
    """
    feature = str(factor.get("feature") or "")
    if not feature:
        return str(factor.get("statement") or "")
    raw = factor.get("value")
    value = float(raw) if isinstance(raw, int | float) else math.nan
    contribution = float(factor.get("contribution") or 0.0)
    push = "raises the risk" if contribution > 0 else "lowers the risk"
    subject, _, behaviour_name = feature.partition("__")
    metric = factor.get("metric")
    if not behaviour_name:
        name = feature.replace("_", " ")
        behaviour = f"at {fmt_value(value)}" if math.isfinite(value) else "missing"
        return f"{name[:1].upper()}{name[1:]} {behaviour}: {push}."
    if metric:
        name = metric_label(str(metric))
    elif subject == "any":
        name = "a metric"
    elif unit_of(subject):
        name = metric_label(subject)
    else:
        name = f"the {subject.replace('_', ' ')} metrics"
    unit = unit_of(str(metric or subject))
    words = _words(behaviour_name)
    behaviour = f"behaving unusually ({fmt_value(value, unit)})"
    for marks, phrase, kind in _BEHAVIOURS:
        if words & set(marks):
            behaviour = phrase.replace("{v}", _reading(value, kind, unit))
            behaviour = behaviour.replace("{direction}", "up" if value >= 0 else "down")
            break
    if not math.isfinite(value):
        behaviour = "not reporting"
    if name.endswith(" metrics"):
        behaviour = behaviour.replace("its ", "their ")
    return f"{name[:1].upper()}{name[1:]} {behaviour}: {push}."
