"""Named detector configurations: what `failcast score --detector NAME`, the API and live
scoring select, so that every figure in docs/benchmarks.md can be reproduced by its name.

A configuration names a detector for one metric and one for a vector of metrics. Parameters
can be overridden per use (`--set key=value` on the command line, `params` in the API); the
overridden configuration is reported with its parameters, so it can be reproduced too.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from failcast.detect.base import AnyDetector
from failcast.detect.registry import create, detector_class, names

Spec = dict[str, Any]

DEFAULT = "default"


@dataclass(frozen=True)
class Configuration:
    """A named detector setup for one metric (`single`) and for a metric vector (`vector`)."""

    name: str
    summary: str
    single: Spec | None
    vector: Spec | None
    aliases: tuple[str, ...] = field(default=())

    def spec(self, metrics: int, overrides: dict[str, Any] | None = None) -> Spec:
        """The detector spec for `metrics` columns, with parameter `overrides` applied."""
        base = self.single if metrics == 1 else self.vector
        if base is None:
            kind = "one metric" if metrics == 1 else "several metrics"
            raise ValueError(f"detector {self.name!r} does not score {kind}")
        params = dict(base.get("params", {}))
        if overrides and base["name"] == "per_metric":
            # A per-metric wrapper passes its overrides on to the detector of each metric.
            inner = dict(params.get("inner", {}))
            inner["params"] = {**inner.get("params", {}), **overrides}
            params["inner"] = inner
        elif overrides:
            params.update(overrides)
        return {"name": base["name"], "params": params}

    def build(self, metrics: int, overrides: dict[str, Any] | None = None) -> AnyDetector:
        spec = self.spec(metrics, overrides)
        return create(str(spec["name"]), **dict(spec["params"]))

    def check(self, metrics: int, overrides: dict[str, Any] | None = None) -> None:
        """Raise ValueError, naming the parameter, when an override is not one of the
        detector's parameters or its value is refused."""
        base = self.single if metrics == 1 else self.vector
        if base is not None and overrides:
            name = str(base["name"])
            if name == "per_metric":
                name = str(base["params"]["inner"]["name"])
            known = set(inspect.signature(detector_class(name).__init__).parameters) - {"self"}
            unknown = sorted(set(overrides) - known)
            if unknown:
                raise ValueError(
                    f"{', '.join(map(repr, unknown))}: not a parameter of {name!r}; "
                    f"its parameters are {', '.join(sorted(known))}"
                )
        try:
            self.build(metrics, overrides)
        except TypeError as exc:
            raise ValueError(f"bad parameters for detector {self.name!r}: {exc}") from None


def _likelihood(inner: Spec, **params: Any) -> Spec:
    return {"name": "likelihood", "params": {"inner": inner, "history": 8000, **params}}


_SURPRISE_PARAMS: dict[str, Any] = {}

CONFIGURATIONS: dict[str, Configuration] = {
    c.name: c
    for c in (
        Configuration(
            "surprise",
            "Uncapped tail probability of each point against the metric's own seasonal "
            "history, with a range rule and a level-shift score; several metrics combined "
            "by Bonferroni or Fisher. The default.",
            {"name": "surprise", "params": dict(_SURPRISE_PARAMS)},
            {"name": "surprise_vector", "params": dict(_SURPRISE_PARAMS)},
            aliases=(DEFAULT,),
        ),
        Configuration(
            "mad-zscore",
            "Distance from the median of the previous 288 values in MADs; several metrics: "
            "the largest per-metric score. A reference, not a detector to alert on.",
            {"name": "mad_zscore", "params": {}},
            {"name": "per_metric", "params": {"inner": {"name": "mad_zscore"}}},
        ),
        Configuration(
            "reference-zscore",
            "Distance from the median of the first 8,640 values (30 days at 5 minutes) in "
            "MADs, frozen afterwards; several metrics: the largest per-metric score. A "
            "reference for data with a training period.",
            {"name": "reference_zscore", "params": {}},
            {"name": "per_metric", "params": {"inner": {"name": "reference_zscore"}}},
        ),
        Configuration(
            "seasonal-likelihood",
            "Anomaly likelihood of a robust seasonal baseline (1,000 scores of history); "
            "scores saturate at 1. The live default before `surprise`.",
            {"name": "likelihood", "params": {"inner": {"name": "seasonal"}, "history": 1000}},
            {
                "name": "per_metric",
                "params": {
                    "inner": {
                        "name": "likelihood",
                        "params": {"inner": {"name": "seasonal"}, "history": 1000},
                    }
                },
            },
        ),
        Configuration(
            "fused-likelihood",
            "The maximum of two averaged anomaly likelihoods, over the seasonal baseline "
            "(with the range rule) and over windowed shape novelty, then one alarm per 100 "
            "points; scores saturate at 1.",
            {
                "name": "rest",
                "params": {
                    "rest": 100,
                    "threshold": 0.5,
                    "inner": {
                        "name": "ensemble",
                        "params": {
                            "members": [
                                _likelihood(
                                    {"name": "seasonal"}, spatial_tolerance=0.02, averaged=True
                                ),
                                _likelihood({"name": "novelty"}, averaged=True),
                            ]
                        },
                    },
                },
            },
            None,
        ),
        Configuration(
            "ensemble",
            "The maximum of the seasonal, Holt-Winters and CUSUM scores; several metrics: the "
            "largest per-metric score. Scores saturate at 1.",
            {"name": "ensemble", "params": {}},
            {"name": "per_metric", "params": {"inner": {"name": "ensemble"}}},
        ),
        Configuration(
            "mahalanobis",
            "How unusual a whole metric vector is given the correlations seen so far.",
            None,
            {"name": "mahalanobis", "params": {}},
        ),
    )
}

_BY_ALIAS = {alias: c for c in CONFIGURATIONS.values() for alias in c.aliases}


def error_field(message: str) -> str:
    """Which request field a configuration error is about: the detector or its params."""
    return "params" if "not a parameter" in message or " must " in message else "detector"


def default() -> Configuration:
    """The configuration that `failcast score`, live scoring and the API use by default."""
    return _BY_ALIAS[DEFAULT]


def configuration(name: str) -> Configuration:
    """A configuration by name or alias; a registered detector kind also works, with its
    defaults for one metric and one detector per metric for several."""
    if name in CONFIGURATIONS:
        return CONFIGURATIONS[name]
    if name in _BY_ALIAS:
        return _BY_ALIAS[name]
    if name in names():
        cls = detector_class(name)
        if cls.multivariate:
            return Configuration(name, cls.__doc__ or "", None, {"name": name, "params": {}})
        return Configuration(
            name,
            (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
            {"name": name, "params": {}},
            {"name": "per_metric", "params": {"inner": {"name": name}}},
        )
    choices = ", ".join([DEFAULT, *CONFIGURATIONS])
    raise ValueError(f"unknown detector {name!r}; choose one of {choices}")


def listed() -> list[Configuration]:
    """Every named configuration, the default first."""
    first = default()
    return [first, *(c for c in CONFIGURATIONS.values() if c is not first)]
