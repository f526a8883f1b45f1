"""OTLP/HTTP metrics (protobuf or JSON) into samples.

Mapping, after the OpenTelemetry-to-Prometheus compatibility rules:

- the resource attribute `service.name` names the service (`unknown_service` without one);
- names and attribute keys get `_` for characters Failcast does not accept (`http.server.duration`
  becomes `http_server_duration`); attribute values become text;
- gauge points are stored as they are; a cumulative monotonic sum is a counter and gets the
  `_total` suffix; other sums (delta, or non-monotonic) are stored as gauges under their name;
- a histogram becomes `<name>_count`, `<name>_sum` and cumulative `<name>_bucket{le="..."}`
  series, with `le="+Inf"` holding the count; quantiles are left to queries over the buckets;
- a summary becomes `<name>_count`, `<name>_sum` and `<name>{quantile="..."}`; an exponential
  histogram only `<name>_count` and `<name>_sum` (its buckets have no fixed bounds to name);
- points flagged "no recorded value" and non-finite values are dropped, as are points outside
  the ingest window; the answer's `partial_success` counts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from failcast.ingest.schemas import IngestLimits
from failcast.integrations.mapping import SampleSink, label_name, metric_name, service_name

UNKNOWN_SERVICE = "unknown_service"
_CUMULATIVE = 2
_NO_RECORDED_VALUE = 1


class OtlpPayloadError(ValueError):
    """The body is not an ExportMetricsServiceRequest in the declared encoding."""


def parse_request(body: bytes, content_type: str) -> tuple[ExportMetricsServiceRequest, bool]:
    """The request, and whether it came as JSON (so the answer is JSON too)."""
    request = ExportMetricsServiceRequest()
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json":
        try:
            json_format.Parse(body.decode("utf-8"), request, ignore_unknown_fields=True)
        except (json_format.ParseError, UnicodeDecodeError) as exc:
            raise OtlpPayloadError(f"not OTLP JSON: {exc}") from None
        return request, True
    if media in ("application/x-protobuf", "application/protobuf"):
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise OtlpPayloadError(f"not an OTLP protobuf message: {exc}") from None
        return request, False
    raise OtlpPayloadError(
        f"unsupported content type {media!r}: send application/x-protobuf or application/json"
    )


def response_body(rejected: int, message: str, as_json: bool) -> tuple[bytes, str]:
    """The ExportMetricsServiceResponse, in the request's encoding."""
    response = ExportMetricsServiceResponse()
    if rejected:
        response.partial_success.rejected_data_points = rejected
        response.partial_success.error_message = message
    if as_json:
        return json_format.MessageToJson(response, indent=None).encode(), "application/json"
    return response.SerializeToString(), "application/x-protobuf"


def _text(value: Any) -> str:
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind in ("array_value", "kvlist_value"):
        return str(json_format.MessageToJson(getattr(value, kind), indent=None))
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "bytes_value":
        return bytes(value.bytes_value).hex()
    text: str = str(getattr(value, kind))
    return text


def _attributes(attributes: Iterable[Any]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for attribute in attributes:
        name = label_name(attribute.key)
        if name:
            labels[name] = _text(attribute.value)
    return labels


def _bound(value: float) -> str:
    # The same text Prometheus client libraries write for `le`: 0.5, 1.0, 10.0, +Inf.
    return repr(float(value))


def request_samples(request: ExportMetricsServiceRequest, limits: IngestLimits) -> SampleSink:
    """Samples of every data point, with the dropped ones counted by reason."""
    sink = SampleSink(limits)
    for resource_metrics in request.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        service = service_name(resource.get("service_name", "")) or UNKNOWN_SERVICE
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                _add_metric(sink, service, metric)
    return sink


def _add(
    sink: SampleSink, service: str, name: str, labels: dict[str, str], point: Any, value: float
) -> None:
    if point.flags & _NO_RECORDED_VALUE:
        value = float("nan")
    sink.add_series(
        service, metric_name(name), labels, [(point.time_unix_nano // 1_000_000, value)]
    )


def _number(point: Any) -> float:
    return float(point.as_int) if point.WhichOneof("value") == "as_int" else point.as_double


def _add_metric(sink: SampleSink, service: str, metric: Any) -> None:
    name = metric.name
    kind = metric.WhichOneof("data")
    if kind == "gauge":
        for point in metric.gauge.data_points:
            _add(sink, service, name, _attributes(point.attributes), point, _number(point))
    elif kind == "sum":
        counter = metric.sum.is_monotonic and metric.sum.aggregation_temporality == _CUMULATIVE
        if counter and not name.endswith("_total"):
            name += "_total"
        for point in metric.sum.data_points:
            _add(sink, service, name, _attributes(point.attributes), point, _number(point))
    elif kind == "histogram":
        for point in metric.histogram.data_points:
            labels = _attributes(point.attributes)
            _add(sink, service, name + "_count", labels, point, float(point.count))
            if point.HasField("sum"):
                _add(sink, service, name + "_sum", labels, point, point.sum)
            cumulative = 0
            bounds = [*map(_bound, point.explicit_bounds), "+Inf"]
            for bound, count in zip(bounds, point.bucket_counts, strict=False):
                cumulative += count
                _add(
                    sink,
                    service,
                    name + "_bucket",
                    labels | {"le": bound},
                    point,
                    float(cumulative),
                )
    elif kind == "summary":
        for point in metric.summary.data_points:
            labels = _attributes(point.attributes)
            _add(sink, service, name + "_count", labels, point, float(point.count))
            _add(sink, service, name + "_sum", labels, point, point.sum)
            for quantile in point.quantile_values:
                quantile_labels = labels | {"quantile": repr(float(quantile.quantile))}
                _add(sink, service, name, quantile_labels, point, quantile.value)
    elif kind == "exponential_histogram":
        for point in metric.exponential_histogram.data_points:
            labels = _attributes(point.attributes)
            _add(sink, service, name + "_count", labels, point, float(point.count))
            if point.HasField("sum"):
                _add(sink, service, name + "_sum", labels, point, point.sum)
