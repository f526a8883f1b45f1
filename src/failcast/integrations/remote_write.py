"""Prometheus remote write 1.0: snappy-compressed `WriteRequest` protobuf into samples.

`service` (or else `job`) names the service, `__name__` the metric; every other label,
`instance` included, stays a label because it identifies the series.
"""

from __future__ import annotations

import cramjam
import numpy as np
from google.protobuf.message import DecodeError

from failcast.ingest.cache import Lru
from failcast.ingest.schemas import IngestLimits
from failcast.ingest.validate import SeriesKey
from failcast.integrations import remote_decode
from failcast.integrations.mapping import (
    DEFAULT_SERVICE,
    DropReason,
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


def decompress(body: bytes, max_bytes: int) -> bytes:
    """The serialised request inside a remote write body (snappy block format)."""
    if uncompressed_length(body) > max_bytes:
        raise PayloadTooBig(f"the body decompresses to more than {max_bytes} bytes")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise PayloadError(f"not snappy block data: {exc}") from None


def decode_write_request(body: bytes, max_bytes: int) -> remote_pb2.WriteRequest:
    """Decompress and parse a remote write body into protobuf's message."""
    request = remote_pb2.WriteRequest()
    try:
        request.ParseFromString(decompress(body, max_bytes))
    except DecodeError as exc:
        raise PayloadError(f"not a remote write WriteRequest: {exc}") from None
    return request


# A series as it is mapped: (service, metric, labels, labels key); key None when it breaks a
# limit.
Mapped = tuple[str | None, str | None, dict[str, str], str | None]
# Label sets a remote write sends again and again (every scrape of every target): mapping
# one (names sanitised, service chosen, key encoded) costs more than storing its sample. Per
# default service and label limits, one entry per label set as senders serialise it: its
# series key (None when it breaks a limit) and labels.
Placed = tuple[SeriesKey | None, dict[str, str]]
_MAPPED: dict[tuple[str, int, int], Lru[bytes, Placed]] = {}
MAPPED_SIZE = 100_000


def _mapped(context: tuple[str, int, int]) -> Lru[bytes, Placed]:
    cache = _MAPPED.get(context)
    if cache is None:
        if len(_MAPPED) >= 8:
            _MAPPED.clear()
        cache = _MAPPED[context] = Lru(MAPPED_SIZE)
    return cache


def map_series(
    names: dict[str, str], sink: SampleSink, default_service: str = DEFAULT_SERVICE
) -> Mapped:
    """Service, metric, labels and labels key of a remote write series' label set."""
    labels = dict(names)
    metric = metric_name(labels.pop("__name__", ""))
    job = labels.pop("job", "")
    service_label = labels.pop("service", "")
    service = service_name(service_label or job or default_service)
    if service_label and job:
        # Both present: the service label names the service; the job stays visible.
        labels["job"] = job
    key = sink.series_key(labels) if service and metric else None
    return service, metric, labels, key


def write_request_samples(
    request: remote_pb2.WriteRequest, limits: IngestLimits, default_service: str = DEFAULT_SERVICE
) -> SampleSink:
    """Samples of every series, with the dropped ones counted by reason."""
    sink = SampleSink(limits)
    for series in request.timeseries:
        names = {label.name: label.value for label in series.labels}
        mapped = map_series(names, sink, default_service)
        samples = series.samples
        sink.add_mapped(
            mapped, [sample.timestamp for sample in samples], [sample.value for sample in samples]
        )
    return sink


def body_samples(
    body: bytes, max_bytes: int, limits: IngestLimits, default_service: str = DEFAULT_SERVICE
) -> SampleSink:
    """Samples of every series of a remote write body, with the dropped ones counted by
    reason: what `write_request_samples` gives for the parsed request, read by column."""
    columns = remote_decode.decode(decompress(body, max_bytes))
    if columns is None:
        raise PayloadError("not a remote write WriteRequest: the protobuf does not parse")
    sink = SampleSink(limits)
    context = (default_service, limits.max_labels, limits.max_label_value_length)
    keys = columns.label_keys()
    series_keys: list[SeriesKey | None] = []
    series_labels: list[dict[str, str]] = []
    mapped = _mapped(context)
    for row, cached in enumerate(mapped.get_many(keys)):
        if cached is None:
            try:
                pairs = columns.label_pairs(row)
            except UnicodeDecodeError:
                raise PayloadError(
                    "not a remote write WriteRequest: a label is not UTF-8"
                ) from None
            service, metric, labels, labels_key = map_series(dict(pairs), sink, default_service)
            if service is None or metric is None or labels_key is None:
                cached = (None, labels)
            else:
                cached = ((service, metric, labels_key), labels)
            key = keys[row]
            if key is not None:
                mapped.put(key, cached)
        series_keys.append(cached[0])
        series_labels.append(cached[1])
    positions = np.asarray(sink.batch.place(series_keys, series_labels), np.int64)
    counts = columns.series[:, 3] - columns.series[:, 2]
    position = np.repeat(positions, counts)
    ts, values = columns.ts, columns.values
    valid = position >= 0
    finite = np.isfinite(values)
    inside = (ts >= limits.earliest_ms) & (ts <= limits.latest_ms)
    keep = valid & finite & inside
    dropped = {
        DropReason.invalid_series: int((~valid).sum()),
        DropReason.not_finite: int((valid & ~finite).sum()),
        DropReason.out_of_window: int((valid & finite & ~inside).sum()),
    }
    sink.dropped.update({reason: count for reason, count in dropped.items() if count})
    sink.batch.set_arrays(position[keep], ts[keep], values[keep])
    return sink


def encode_write_request(request: remote_pb2.WriteRequest) -> bytes:
    """The body a remote write sender posts: the serialised request, snappy block format."""
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
