"""Tables of a backtest's figures, shared by the prediction benches."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from bench._record import table
from failcast.predict.backtest import BASELINES

HEADER = ["method", "AUC-PR [90 % CI]", "Brier skill [90 % CI]", "precision", "recall",
          "event precision [90 % CI]", "event recall [90 % CI]", "false alarms/day",
          "median lead (h)"]  # fmt: skip


def fmt(value: Any, digits: int = 3) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def with_ci(figures: Mapping[str, Any], key: str) -> str:
    bounds = figures.get("ci", {}).get(key)
    text = fmt(figures.get(key))
    return f"{text} [{fmt(bounds[0])}, {fmt(bounds[1])}]" if bounds else text


def method_rows(methods: Mapping[str, Mapping[str, Any]]) -> list[list[object]]:
    rows: list[list[object]] = []
    for name in ("model", *BASELINES):
        if name not in methods:
            continue
        m = methods[name]
        rows.append([
            f"**{name}**" if name == "model" else name,
            with_ci(m, "auc_pr"), with_ci(m, "brier_skill"), fmt(m.get("precision")),
            fmt(m.get("recall")), with_ci(m, "event_precision"), with_ci(m, "event_recall"),
            fmt(m.get("false_alarms_per_day"), 2), fmt(m.get("lead_h_median"), 1),
        ])  # fmt: skip
    return rows


def methods_table(methods: Mapping[str, Mapping[str, Any]]) -> str:
    return table(HEADER, method_rows(methods))


def best_reference_auc(methods: Mapping[str, Mapping[str, Any]]) -> tuple[str, float]:
    """The reference with the highest AUC-PR, and that AUC-PR."""
    found = [
        (name, float(methods[name]["auc_pr"]))
        for name in BASELINES
        if name in methods and math.isfinite(float(methods[name].get("auc_pr", math.nan)))
    ]
    return max(found, key=lambda item: item[1]) if found else ("-", math.nan)


REFERENCES_NOTE = """\
References, each alarming at a threshold chosen on the same validation rows by the same rule as
the model (the highest recall whose precision reaches 0.85, else the best F1): *climatology*
forecasts the training base rate for every row (the reference of the Brier skill score,
1 - Brier / Brier of climatology); *time-to-limit* alarms when a metric's six-hour trend reaches
its known limit (100 %, a ratio of 1) or its learnt one (the worst hourly level of the week
before yesterday) soonest; *static threshold* when a metric leaves its 0.1-99.9 % band of the
training data; *predict_linear* when the six-hour trend extrapolated to the horizon leaves that
band; *persistence* when an incident started within the last horizon. A rule's Brier score is
that of its 0/1 answer. Event precision: the share of alarm episodes (consecutive alarming rows
of a service) followed by an incident of that service within the horizon; event recall: the
share of incidents with an alarm in the horizon before them; lead: hours from that first alarm
to the start. A reference that alarms all the time has few, long episodes, so its event
precision can look high while its false alarms are hours long. Intervals: 90 % bootstrap, 200
replicates, resampling incidents (each with the rows of its service that lead up to it)."""
