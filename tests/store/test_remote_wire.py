"""The column-wise remote_write encoder writes what protobuf reads back, bit for bit."""

from __future__ import annotations

import doctest

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from failcast.proto import remote_pb2
from failcast.store import remote_wire
from failcast.store.remote import wire_labels

STALE_NAN = 0x7FF0000000000002  # Prometheus' staleness marker

_points = st.lists(
    st.tuples(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.one_of(
            st.integers(min_value=0, max_value=2**64 - 1),
            st.sampled_from([0, STALE_NAN, 0x8000000000000000, 0x7FF0000000000000]),
        ),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.dictionaries(st.text(max_size=8), st.text(max_size=8)), _points)))
def test_protobuf_reads_back_every_series_and_sample(
    series: list[tuple[dict[str, str], list[tuple[int, int]]]],
) -> None:
    labels, bounds, ts, bits = [], [0], [], []
    for own, points in series:
        labels.append(wire_labels(tuple(sorted(own.items()))))
        ts += [t for t, _ in points]
        bits += [b for _, b in points]
        bounds.append(len(ts))
    body = remote_wire.write_request(
        labels,
        bounds,
        np.array(ts, dtype=np.int64),
        np.array(bits, dtype=np.uint64).view(np.float64),
    )
    request = remote_pb2.WriteRequest.FromString(body)
    assert len(request.timeseries) == len(series)
    for decoded, (own, points) in zip(request.timeseries, series, strict=True):
        assert {label.name: label.value for label in decoded.labels} == own
        got = [
            (s.timestamp, int(np.array(s.value, dtype=np.float64).view(np.uint64)))
            for s in decoded.samples
        ]
        assert got == points


def test_doctests() -> None:
    failures, tried = doctest.testmod(remote_wire)
    assert tried > 0
    assert failures == 0
