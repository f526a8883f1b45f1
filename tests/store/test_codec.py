"""The chunk codec gives back exactly what it was given, bit for bit, and packs regular
series into a few bytes a point."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failcast.store.codec import decode, encode, merge

STALE_NAN = 0x7FF0000000000002  # Prometheus' staleness marker


def _roundtrip(ts: list[int], bits: list[int]) -> None:
    ts_in = np.array(ts, dtype=np.int64)
    values_in = np.array(bits, dtype=np.uint64).view(np.float64)
    ts_out, values_out = decode(encode(ts_in, values_in))
    assert ts_out.tolist() == ts
    assert values_out.view(np.uint64).tolist() == bits


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
            st.integers(min_value=0, max_value=2**64 - 1),
        ),
        max_size=200,
        unique_by=lambda point: point[0],
    )
)
def test_any_timestamps_and_bit_patterns_round_trip(points: list[tuple[int, int]]) -> None:
    points.sort()
    _roundtrip([t for t, _ in points], [b for _, b in points])


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**45),
    st.lists(st.integers(min_value=1, max_value=120_000), min_size=1, max_size=300),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=300, max_size=300),
)
def test_scrape_like_series_round_trip(start: int, gaps: list[int], values: list[float]) -> None:
    ts = np.cumsum([start, *gaps]).tolist()
    bits = np.array(values[: len(ts)], dtype=np.float64).view(np.uint64).tolist()
    _roundtrip(ts, bits)


def test_nan_payloads_and_staleness_markers_keep_their_bits() -> None:
    bits = [STALE_NAN, 0x7FF8000000000000, 0xFFF8000000000001, 0x7FF0000000000001, 0, 2**63]
    _roundtrip([1000 * k for k in range(len(bits))], bits)


def test_an_empty_chunk_round_trips() -> None:
    _roundtrip([], [])


def test_a_regular_counter_packs_into_few_bytes_a_point() -> None:
    n = 480  # two hours at 15 s
    ts = 1_700_000_000_000 + 15_000 * np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(7)
    counter = np.cumsum(rng.integers(0, 50, n)).astype(np.float64)
    assert len(encode(ts, counter)) / n < 2.0


def test_a_corrupt_chunk_is_refused() -> None:
    chunk = encode(np.array([1, 2], dtype=np.int64), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="version"):
        decode(b"\x09" + chunk[1:])


def test_merge_keeps_the_new_value_where_both_have_a_timestamp() -> None:
    ts, values = merge(
        np.array([1, 3, 5], dtype=np.int64),
        np.array([1.0, 3.0, 5.0]),
        np.array([0, 3, 6], dtype=np.int64),
        np.array([0.5, 30.0, 6.0]),
    )
    assert ts.tolist() == [0, 1, 3, 5, 6]
    assert values.tolist() == [0.5, 1.0, 30.0, 5.0, 6.0]
