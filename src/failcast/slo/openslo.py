"""OpenSLO files (`apiVersion: openslo/v1`): SLO and SLI documents, inline or referenced, become
`SloDefinition`s; every error names the line and the key in the file."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from failcast.kit.yamlsource import (
    Loc,
    MarkIndex,
    YamlConfigError,
    YamlProblem,
    parse_documents,
    problem_at,
    validate_document,
)
from failcast.slo.importers import Fail, Located, definition, unique
from failcast.slo.schemas import (
    EventsSli,
    MetricRef,
    RatioSli,
    Sli,
    SloDefinition,
    ThresholdSli,
)


class _Loose(BaseModel):
    # OpenSLO objects carry many optional vendor fields; unknown ones are ignored.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class _Metadata(_Loose):
    name: str
    displayName: str | None = None
    labels: dict[str, Any] = Field(default_factory=dict)


class _MetricSource(_Loose):
    metricSourceRef: str | None = None
    type: str | None = None
    spec: dict[str, Any] = Field(default_factory=dict)


class _Metric(_Loose):
    metricSource: _MetricSource


class _Ratio(_Loose):
    counter: bool = True
    good: _Metric | None = None
    bad: _Metric | None = None
    total: _Metric | None = None
    rawType: Literal["success", "failure"] | None = None
    raw: _Metric | None = None


class _SliSpec(_Loose):
    description: str = ""
    thresholdMetric: _Metric | None = None
    ratioMetric: _Ratio | None = None


class _Sli(_Loose):
    metadata: _Metadata | None = None
    spec: _SliSpec


class _TimeWindow(_Loose):
    duration: str
    isRolling: bool = True


class _Objective(_Loose):
    displayName: str | None = None
    name: str | None = None
    op: Literal["lte", "gte", "lt", "gt"] | None = None
    value: float | None = None
    target: float | None = Field(default=None, gt=0, lt=1)
    targetPercent: float | None = Field(default=None, gt=0, lt=100)
    indicator: _Sli | None = None
    indicatorRef: str | None = None


class _SloSpec(_Loose):
    description: str = ""
    service: str
    indicator: _Sli | None = None
    indicatorRef: str | None = None
    timeWindow: list[_TimeWindow] = Field(min_length=1, max_length=1)
    budgetingMethod: Literal["Occurrences", "Timeslices", "RatioTimeslices"]
    objectives: list[_Objective] = Field(min_length=1)


class _Envelope(_Loose):
    apiVersion: str
    kind: str

    @field_validator("apiVersion")
    @classmethod
    def _v1(cls, value: str) -> str:
        if value != "openslo/v1":
            raise ValueError(f"apiVersion {value} is not supported: use openslo/v1")
        return value


class OpenSloSlo(_Loose):
    """An OpenSLO v1 `kind: SLO` object."""

    apiVersion: Literal["openslo/v1"]
    kind: Literal["SLO"]
    metadata: _Metadata
    spec: _SloSpec


class OpenSloSli(_Loose):
    """An OpenSLO v1 `kind: SLI` object, referenced by `indicatorRef`."""

    apiVersion: Literal["openslo/v1"]
    kind: Literal["SLI"]
    metadata: _Metadata
    spec: _SliSpec


_DURATION = re.compile(r"^(\d+)([mhdwMQY])$")


_DAYS_PER_UNIT = {"d": 1, "w": 7, "M": 30}


def _window_days(duration: str) -> int | None:
    match = _DURATION.match(duration.strip())
    if not match or match.group(2) not in _DAYS_PER_UNIT:
        return None
    days = int(match.group(1)) * _DAYS_PER_UNIT[match.group(2)]
    return days if days in (28, 30) else None


def _metric_ref(metric: _Metric) -> MetricRef:
    source = metric.metricSource
    query = source.spec.get("query", source.spec.get("promql"))
    if not isinstance(query, str) or not query:
        # Vendors without a single query string keep their whole spec as the reference.
        query = json.dumps(source.spec, sort_keys=True)
    origin = (source.type or source.metricSourceRef or "openslo").lower()
    return MetricRef(query=query, source=origin)


def import_openslo(text: str, source: str = "openslo.yaml") -> list[SloDefinition]:
    """SLO definitions from an OpenSLO v1 stream; one per objective of each `kind: SLO`.

    `kind: SLI` objects in the same stream serve `indicatorRef`; other kinds are skipped.
    """
    documents = parse_documents(text, source)
    slis: dict[str, _SliSpec] = {}
    slos: list[tuple[OpenSloSlo, MarkIndex]] = []
    for data, marks in documents:
        if data is None:
            continue
        envelope = validate_document(_Envelope, data, marks, source)
        if envelope.kind == "SLI":
            sli = validate_document(OpenSloSli, data, marks, source)
            slis[sli.metadata.name] = sli.spec
        elif envelope.kind == "SLO":
            slos.append((validate_document(OpenSloSlo, data, marks, source), marks))
    if not slos:
        raise YamlConfigError(source, [YamlProblem(1, 1, "kind", "no kind: SLO object found")])
    definitions: list[Located] = []
    for slo, marks in slos:
        definitions.extend(_openslo_definitions(slo, slis, marks, source))
    return unique(definitions, source)


def _openslo_definitions(
    slo: OpenSloSlo, slis: dict[str, _SliSpec], marks: MarkIndex, source: str
) -> list[Located]:
    spec = slo.spec

    def fail(loc: Loc, msg: str) -> YamlConfigError:
        return YamlConfigError(source, [problem_at(marks, loc, msg)])

    window = _window_days(spec.timeWindow[0].duration)
    if window is None:
        raise fail(
            ("spec", "timeWindow", 0, "duration"),
            f"time window {spec.timeWindow[0].duration} is not supported: use 28d, 4w, 30d or 1M",
        )
    definitions: list[Located] = []
    for index, objective in enumerate(spec.objectives):
        where: Loc = ("spec", "objectives", index)
        indicator, indicator_loc = _indicator(spec, objective, slis, where)
        if indicator is None and indicator_loc[-1] == "indicatorRef":
            ref = objective.indicatorRef or spec.indicatorRef
            raise fail(indicator_loc, f"indicatorRef {ref} names no kind: SLI object in this file")
        if indicator is None:
            raise fail(indicator_loc, "no indicator: give indicator or indicatorRef")
        target = objective.target
        if target is None and objective.targetPercent is not None:
            target = objective.targetPercent / 100.0
        if target is None:
            raise fail(where, "objective needs target (0.999) or targetPercent (99.9)")
        sli: Sli
        if indicator.ratioMetric is not None:
            if spec.budgetingMethod != "Occurrences":
                raise fail(
                    ("spec", "budgetingMethod"),
                    f"{spec.budgetingMethod} budgeting of a ratio metric is not supported:"
                    " use Occurrences",
                )
            sli = _ratio_sli(indicator.ratioMetric, fail, indicator_loc)
        elif indicator.thresholdMetric is not None:
            if objective.op is None or objective.value is None:
                raise fail(where, "a threshold metric needs op and value on the objective")
            sli = ThresholdSli(
                metric=_metric_ref(indicator.thresholdMetric),
                op=objective.op,
                value=objective.value,
            )
        else:
            raise fail(indicator_loc, "indicator needs ratioMetric or thresholdMetric")
        name = slo.metadata.name
        if len(spec.objectives) > 1:
            name = f"{name}-{objective.name or index}"
        labels = {k: str(v) for k, v in slo.metadata.labels.items()}
        body = {
            "name": name,
            "service": spec.service,
            "description": spec.description or (objective.displayName or ""),
            "objective": target,
            "window_days": window,
            "sli": sli,
            "labels": labels,
        }
        definitions.append(definition(body, marks, where, source))
    return definitions


def _indicator(
    spec: _SloSpec, objective: _Objective, slis: dict[str, _SliSpec], where: Loc
) -> tuple[_SliSpec | None, Loc]:
    # An objective's own indicator wins over the SLO's, as OpenSLO composite SLOs expect.
    if objective.indicator is not None:
        return objective.indicator.spec, (*where, "indicator", "spec")
    if objective.indicatorRef is not None:
        return slis.get(objective.indicatorRef), (*where, "indicatorRef")
    if spec.indicator is not None:
        return spec.indicator.spec, ("spec", "indicator", "spec")
    if spec.indicatorRef is not None:
        return slis.get(spec.indicatorRef), ("spec", "indicatorRef")
    return None, ("spec",)


def _ratio_sli(ratio: _Ratio, fail: Fail, loc: Loc) -> Sli:
    here = (*loc, "ratioMetric")
    if ratio.raw is not None:
        counts: Literal["bad", "good"] = "bad" if ratio.rawType != "success" else "good"
        return RatioSli(ratio=_metric_ref(ratio.raw), counts=counts)
    if ratio.total is None or (ratio.good is None) == (ratio.bad is None):
        raise fail(here, "ratioMetric needs total and exactly one of good or bad (or raw)")
    return EventsSli(
        good=_metric_ref(ratio.good) if ratio.good else None,
        bad=_metric_ref(ratio.bad) if ratio.bad else None,
        total=_metric_ref(ratio.total),
    )
