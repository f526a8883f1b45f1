"""Sloth SLO files (`version: prometheus/v1`): each SLO becomes a `SloDefinition`, its queries kept
as metric references; every error names the line and the key in the file."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from failcast.kit.yamlsource import (
    YamlConfigError,
    parse_documents,
    problem_at,
    validate_document,
)
from failcast.slo.importers import Located, Strict, definition, unique
from failcast.slo.schemas import (
    EventsSli,
    MetricRef,
    RatioSli,
    Sli,
    SloAlerting,
    SloDefinition,
)


class _SlothEvents(Strict):
    error_query: str = Field(min_length=1)
    total_query: str = Field(min_length=1)


class _SlothRaw(Strict):
    error_ratio_query: str = Field(min_length=1)


class _SlothSli(Strict):
    events: _SlothEvents | None = None
    raw: _SlothRaw | None = None
    plugin: dict[str, Any] | None = None

    @field_validator("plugin")
    @classmethod
    def _no_plugins(cls, value: dict[str, Any] | None) -> None:
        if value is not None:
            plugin = value.get("id", "?")
            raise ValueError(
                f"Sloth SLI plugins ({plugin}) run code Failcast cannot import;"
                " write the SLI as events (error_query, total_query) or raw (error_ratio_query)"
            )
        return None


class _SlothAlert(Strict):
    disable: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class _SlothAlerting(Strict):
    name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    page_alert: _SlothAlert = _SlothAlert()
    ticket_alert: _SlothAlert = _SlothAlert()


class _SlothSlo(Strict):
    name: str
    objective: float = Field(gt=0, lt=100, description="percent")
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    sli: _SlothSli
    alerting: _SlothAlerting = _SlothAlerting()


class SlothSpec(Strict):
    """A Sloth `prometheus/v1` service spec."""

    version: Literal["prometheus/v1"]
    service: str
    labels: dict[str, str] = Field(default_factory=dict)
    slos: list[_SlothSlo] = Field(min_length=1)


def import_sloth(
    text: str, source: str = "sloth.yaml", *, window_days: Literal[28, 30] = 30
) -> list[SloDefinition]:
    """SLO definitions from a Sloth spec; Sloth's default period is 30 days."""
    documents = parse_documents(text, source)
    definitions: list[Located] = []
    for data, marks in documents:
        if data is None:
            continue
        spec = validate_document(SlothSpec, data, marks, source)
        for index, slo in enumerate(spec.slos):
            sli: Sli
            if slo.sli.events is not None:
                sli = EventsSli(
                    bad=MetricRef(query=slo.sli.events.error_query, source="prometheus"),
                    total=MetricRef(query=slo.sli.events.total_query, source="prometheus"),
                )
            elif slo.sli.raw is not None:
                sli = RatioSli(
                    ratio=MetricRef(query=slo.sli.raw.error_ratio_query, source="prometheus")
                )
            else:
                msg = "give the SLI as events or raw"
                raise YamlConfigError(source, [problem_at(marks, ("slos", index, "sli"), msg)])
            body = {
                "name": slo.name,
                "service": spec.service,
                "description": slo.description,
                "objective": round(slo.objective / 100.0, 12),
                "window_days": window_days,
                "sli": sli,
                "labels": {**spec.labels, **slo.labels},
                "alerting": SloAlerting(
                    page=not slo.alerting.page_alert.disable,
                    ticket=not slo.alerting.ticket_alert.disable,
                ),
            }
            definitions.append(definition(body, marks, ("slos", index), source))
    return unique(definitions, source)
