"""The promotion gate: a model goes live only when it beats climatology and the model it
would replace on held-out data, unless someone forces it and says why.

Figures are those of the gate horizon (24 h, else the trained horizon closest to it) on the
test split:
AUC-PR against the base rate (what a constant forecast scores) and the Brier skill score
against climatology (the base rate as the forecast: 1 - Brier / (r (1 - r))). A model whose
alarms catch nothing (F1 = 0) or that has no skill on either figure fails; so does one worse
on either figure than the active model, measured on the same test rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GATE_HORIZON = 24


@dataclass(frozen=True)
class Verdict:
    """Whether a model may be promoted without force, and what stood in its way."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": self.reasons, "figures": self.figures}


def horizon_key(figures: Mapping[str, Any]) -> str | None:
    """The key ("24h") of the trained horizon closest to the gate horizon among per-horizon
    figures (the shorter one on a tie).

    >>> horizon_key({"6h": {}, "12h": {}, "48h": {}})
    '12h'
    >>> horizon_key({"1h": {}, "47h": {}})
    '1h'
    """
    hours = [int(k[:-1]) for k in figures if k.endswith("h") and k[:-1].isdigit()]
    if not hours:
        return None
    return f"{min(hours, key=lambda h: (abs(h - GATE_HORIZON), h))}h"


def skill(figures: Mapping[str, Any]) -> dict[str, float]:
    """Base rate, AUC-PR, its lift over the base rate, Brier skill score and F1 of one
    horizon's figures (NaN where they cannot be computed).

    >>> figures = {"rows": 100, "positives": 10, "auc_pr": 0.4, "brier": 0.06, "f1": 0.5}
    >>> {name: round(value, 3) for name, value in skill(figures).items()}
    {'base_rate': 0.1, 'auc_pr': 0.4, 'auc_pr_lift': 0.3, 'brier_skill': 0.333, 'f1': 0.5}
    """
    rows = float(figures.get("rows", 0.0) or 0.0)
    rate = float(figures.get("positives", 0.0) or 0.0) / rows if rows else math.nan
    auc = _number(figures.get("auc_pr"))
    brier = _number(figures.get("brier"))
    climatology = rate * (1.0 - rate)
    return {
        "base_rate": rate,
        "auc_pr": auc,
        "auc_pr_lift": auc - rate,
        "brier_skill": 1.0 - brier / climatology if climatology > 0 else math.nan,
        "f1": _number(figures.get("f1")),
    }


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def judge(metrics: Mapping[str, Any], active: Mapping[str, Any] | None = None) -> Verdict:
    """The verdict on a model's stored `metrics` ({"test": {"24h": {...}}}), against the
    active model's figures on the same test rows when there is one."""
    test = metrics.get("test") or {}
    key = horizon_key(test)
    if key is None:
        return Verdict(False, ["no held-out test figures to judge the model by"])
    mine = skill(test[key])
    figures = {f"{key} {name}": value for name, value in mine.items()}
    reasons = []
    if not mine["f1"] > 0:
        reasons.append(f"its alarms at {key} catch no incident (F1 = 0)")
    if not mine["brier_skill"] > 0:
        reasons.append(f"no Brier skill over climatology at {key} ({mine['brier_skill']:.3f})")
    if not mine["auc_pr_lift"] > 0:
        reasons.append(
            f"AUC-PR at {key} ({mine['auc_pr']:.3f}) no better than the base rate"
            f" ({mine['base_rate']:.3f})"
        )
    if active is not None and key in active:
        theirs = skill(active[key])
        figures |= {f"{key} active {name}": value for name, value in theirs.items()}
        for name in ("auc_pr", "brier_skill"):
            if mine[name] < theirs[name]:
                reasons.append(
                    f"{name} at {key} {mine[name]:.3f} below the active model's {theirs[name]:.3f}"
                )
    return Verdict(not reasons, reasons, figures)
