"""The compiled remote-write reader gives exactly what protobuf's parser gives, and refuses
what does not parse without ever failing otherwise."""

from __future__ import annotations

import math
import struct

import cramjam
import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

from failcast.ingest.schemas import IngestLimits
from failcast.integrations import remote_decode
from failcast.integrations.remote_write import (
    PayloadError,
    body_samples,
    encode_write_request,
    write_request_samples,
)
from failcast.proto import remote_pb2

NOW = 1_800_000_000_000
LIMITS = IngestLimits(4, 12, 1000, NOW - 60_000, NOW + 60_000)
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]

_names = st.sampled_from(["__name__", "job", "service", "instance", "zone", "a.b", "", "9x"])
_values = st.text(max_size=14)
_points = st.lists(
    st.tuples(
        st.one_of(
            st.integers(min_value=NOW - 90_000, max_value=NOW + 90_000),
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
        ),
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from([0.0, -0.0, STALE_NAN]),
        ),
    ),
    max_size=6,
)
_series = st.tuples(st.lists(st.tuples(_names, _values), max_size=5), _points)


def _request(series: list[tuple[list[tuple[str, str]], list[tuple[int, float]]]]) -> bytes:
    request = remote_pb2.WriteRequest()
    for labels, points in series:
        item = request.timeseries.add()
        for name, text in labels:
            item.labels.add(name=name, value=text)
        for ts, value in points:
            item.samples.add(timestamp=ts, value=value)
    return encode_write_request(request)


def _same(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))


@settings(max_examples=300, deadline=None)
@given(st.lists(_series, max_size=6), st.sampled_from(["prometheus", "edge"]))
def test_columns_give_what_the_protobuf_parser_gives(
    series: list[tuple[list[tuple[str, str]], list[tuple[int, float]]]], default: str
) -> None:
    body = _request(series)
    parsed = remote_pb2.WriteRequest()
    parsed.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    expected = write_request_samples(parsed, LIMITS, default)
    for _ in range(2):  # the second time, label sets come from the cache
        got = body_samples(body, 1 << 20, LIMITS, default)
        assert got.dropped == expected.dropped
        assert len(got.samples) == len(expected.samples)
        for mine, theirs in zip(got.samples, expected.samples, strict=True):
            assert mine[:5] == theirs[:5]
            assert _same(mine.value, theirs.value)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_refused(raw: bytes) -> None:
    try:
        body_samples(bytes(cramjam.snappy.compress_raw(raw)), 1 << 20, LIMITS)
    except PayloadError:
        return


@settings(max_examples=200, deadline=None)
@given(st.lists(_series, min_size=1, max_size=4), st.data())
def test_a_cut_request_is_refused_or_read_as_protobuf_reads_it(
    series: list[tuple[list[tuple[str, str]], list[tuple[int, float]]]], data: st.DataObject
) -> None:
    raw = bytes(cramjam.snappy.decompress_raw(_request(series)))
    cut = raw[: data.draw(st.integers(min_value=0, max_value=len(raw)))]
    parsed = remote_pb2.WriteRequest()
    try:
        parsed.ParseFromString(cut)
    except DecodeError:
        with pytest.raises(PayloadError):
            body_samples(bytes(cramjam.snappy.compress_raw(cut)), 1 << 20, LIMITS)
        return
    columns = remote_decode.decode(cut)
    assert columns is not None
    assert len(columns.series) == len(parsed.timeseries)
    assert columns.ts.tolist() == [s.timestamp for t in parsed.timeseries for s in t.samples]


def test_a_label_that_is_not_utf8_is_refused() -> None:
    label = b"\x0a\x03bad\x12\x02\xff\xfe"
    series = b"\x0a" + bytes([len(label)]) + label
    request = b"\x0a" + bytes([len(series)]) + series
    with pytest.raises(PayloadError):
        body_samples(bytes(cramjam.snappy.compress_raw(request)), 1 << 20, LIMITS)
