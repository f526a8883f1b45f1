"""Turning foreign series (Prometheus, OpenTelemetry) into Failcast samples under the ingest
rules: names sanitised into what Failcast accepts, bad series dropped and counted.

A sender that cannot fix its data gains nothing from a refusal of the whole batch (Prometheus
drops a batch on 4xx and retries it for ever on 5xx), so a receiver keeps what is valid and
reports what it dropped, by reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from failcast.ingest.schemas import IngestLimits
from failcast.ingest.validate import ValidSample, labels_key
from failcast.kit.names import NAME_PATTERN

_NAME = re.compile(NAME_PATTERN)
_NOT_NAME_CHAR = re.compile(r"[^a-zA-Z0-9_:]")
_NOT_LABEL_CHAR = re.compile(r"[^a-zA-Z0-9_]")
_NOT_SERVICE_CHAR = re.compile(r"[^A-Za-z0-9_.\-]")

DEFAULT_SERVICE = "prometheus"


class DropReason:
    """Why a sample was not stored; the values label the dropped-samples counter."""

    not_finite = "not_finite"  # NaN (Prometheus staleness markers) and infinities
    out_of_window = "out_of_window"
    invalid_series = "invalid_series"
    series_limit = "series_limit"  # a new series beyond the org's series limits


def service_name(text: str) -> str | None:
    """A service name Failcast accepts, from a job, service or `service.name` value."""
    name = _NOT_SERVICE_CHAR.sub("-", text.strip()).lstrip("-_.")[:128]
    return name or None


def metric_name(text: str) -> str | None:
    """A metric name matching NAME_PATTERN: other characters (such as OTel's dots) become `_`."""
    name = _NOT_NAME_CHAR.sub("_", text)
    if name and name[0].isdigit():
        name = "_" + name
    return name[:200] if name and _NAME.match(name) else None


def label_name(text: str) -> str | None:
    name = _NOT_LABEL_CHAR.sub("_", text)
    if name and name[0].isdigit():
        name = "_" + name
    return name[:200] or None


@dataclass
class SampleSink:
    """Collects valid samples and counts the dropped ones; checks each label set once."""

    limits: IngestLimits
    samples: list[ValidSample] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)

    def series_key(self, labels: dict[str, str]) -> str | None:
        """The labels key of a valid label set, or None when the set breaks a limit."""
        if len(labels) > self.limits.max_labels:
            return None
        limit = self.limits.max_label_value_length
        if any(len(value) > limit for value in labels.values()):
            return None
        return labels_key(labels)

    def add_series(
        self,
        service: str | None,
        metric: str | None,
        labels: dict[str, str],
        points: list[tuple[int, float]],
    ) -> None:
        """Add one series' (ts_ms, value) points, dropping what the ingest rules refuse."""
        key = self.series_key(labels) if service and metric else None
        if service is None or metric is None or key is None:
            self.dropped[DropReason.invalid_series] += len(points)
            return
        earliest, latest = self.limits.earliest_ms, self.limits.latest_ms
        append = self.samples.append
        for ts, value in points:
            if value - value != 0:  # NaN and infinities give NaN here
                self.dropped[DropReason.not_finite] += 1
            elif ts < earliest or ts > latest:
                self.dropped[DropReason.out_of_window] += 1
            else:
                append(ValidSample(service, metric, labels, key, ts, value))

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())
