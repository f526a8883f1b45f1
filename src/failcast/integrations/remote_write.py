"""Prometheus remote write 1.0: snappy-compressed `WriteRequest` protobuf into samples.

`service` (or else `job`) names the service, `__name__` the metric; every other label,
`instance` included, stays a label because it identifies the series.
"""

from __future__ import annotations

import cramjam
from google.protobuf.message import DecodeError

from failcast.ingest.schemas import IngestLimits
from failcast.integrations.mapping import (
    DEFAULT_SERVICE,
    SampleSink,
    metric_name,
    service_name,
)
from failcast.proto import remote_pb2


class PayloadError(ValueError):
    """The body is not a snappy-compressed WriteRequest."""


class PayloadTooBig(ValueError):
    """The body would decompress to more than the allowed size."""


def uncompressed_length(data: bytes) -> int:
    """The length a snappy block declares in its leading varint."""
    result = shift = 0
    for index, byte in enumerate(data[:10]):
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result
        shift += 7
        if index == 9:
            break
    raise PayloadError("not a snappy block: bad length header")


def decode_write_request(body: bytes, max_bytes: int) -> remote_pb2.WriteRequest:
    """Decompress (snappy block format) and parse a remote write body."""
    if uncompressed_length(body) > max_bytes:
        raise PayloadTooBig(f"the body decompresses to more than {max_bytes} bytes")
    try:
        raw = bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise PayloadError(f"not snappy block data: {exc}") from None
    request = remote_pb2.WriteRequest()
    try:
        request.ParseFromString(raw)
    except DecodeError as exc:
        raise PayloadError(f"not a remote write WriteRequest: {exc}") from None
    return request


def write_request_samples(
    request: remote_pb2.WriteRequest, limits: IngestLimits, default_service: str = DEFAULT_SERVICE
) -> SampleSink:
    """Samples of every series, with the dropped ones counted by reason."""
    sink = SampleSink(limits)
    for series in request.timeseries:
        labels = {label.name: label.value for label in series.labels}
        metric = metric_name(labels.pop("__name__", ""))
        job = labels.pop("job", "")
        service_label = labels.pop("service", "")
        service = service_name(service_label or job or default_service)
        if service_label and job:
            # Both present: the service label names the service; the job stays visible.
            labels["job"] = job
        samples = series.samples
        sink.add_columns(
            service,
            metric,
            labels,
            [sample.timestamp for sample in samples],
            [sample.value for sample in samples],
        )
    return sink


def encode_write_request(request: remote_pb2.WriteRequest) -> bytes:
    """The body a remote write sender posts: the serialised request, snappy block format."""
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
