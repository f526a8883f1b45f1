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
from failcast.ingest.validate import SampleBatch, ValidSample, labels_key
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
    """Collects valid samples by column and counts the dropped ones; checks each label set once.

    A series' points arrive together, so checks run per series: a sum that is finite and a
    time range inside the window clear every point at once, and only a series that fails
    either is looked at point by point."""

    limits: IngestLimits
    batch: SampleBatch = field(default_factory=SampleBatch)
    dropped: Counter[str] = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.batch)

    @property
    def samples(self) -> list[ValidSample]:
        """The valid samples one by one (the columns are the cheaper form)."""
        return self.batch.samples()

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
        self.add_columns(
            service, metric, labels, [ts for ts, _ in points], [value for _, value in points]
        )

    def add_columns(
        self,
        service: str | None,
        metric: str | None,
        labels: dict[str, str],
        ts: list[int],
        values: list[float],
    ) -> None:
        """Add one series' points as a column of times and one of values."""
        key = self.series_key(labels) if service and metric else None
        self.add_mapped((service, metric, labels, key), ts, values)

    def add_mapped(
        self,
        series: tuple[str | None, str | None, dict[str, str], str | None],
        ts: list[int],
        values: list[float],
    ) -> None:
        """Add the points of a series already mapped to (service, metric, labels, key), the
        key None when the label set breaks a limit."""
        if not ts:
            return
        service, metric, labels, key = series
        if service is None or metric is None or key is None:
            self.dropped[DropReason.invalid_series] += len(ts)
            return
        earliest, latest = self.limits.earliest_ms, self.limits.latest_ms
        total = sum(values)
        if not (total - total == 0 and min(ts) >= earliest and max(ts) <= latest):
            ts, values = self._keep(ts, values, earliest, latest)
        if not ts:
            return
        batch = self.batch
        position = batch.position((service, metric, key), labels)
        batch.index.extend([position] * len(ts))
        batch.ts.extend(ts)
        batch.values.extend(values)

    def _keep(
        self, ts: list[int], values: list[float], earliest: int, latest: int
    ) -> tuple[list[int], list[float]]:
        """The points the rules admit, counting the others by reason."""
        kept_ts: list[int] = []
        kept_values: list[float] = []
        for at, value in zip(ts, values, strict=True):
            if value - value != 0:  # NaN and infinities give NaN here
                self.dropped[DropReason.not_finite] += 1
            elif at < earliest or at > latest:
                self.dropped[DropReason.out_of_window] += 1
            else:
                kept_ts.append(at)
                kept_values.append(value)
        return kept_ts, kept_values

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())
