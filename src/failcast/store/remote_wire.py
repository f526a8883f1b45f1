"""A remote_write `WriteRequest` serialised from columns, compiled, without a message per
sample.

Building one protobuf `Sample` per point costs a microsecond or more in Python, which is most
of what forwarding a large remote write to an engine costs. The wire format of a sample is
fixed enough to write with numba in two passes over the columns (size, then bytes), as
`integrations.remote_decode` reads them:

    Sample     = 0x09 <value: 8 bytes, little-endian double> 0x10 <timestamp: varint>
    TimeSeries = <labels: field 1, serialised by protobuf> (0x12 <length> <Sample>)*
    WriteRequest = (0x0a <length> <TimeSeries>)*

Every sample is written with both fields, zeros included: proto3 omits a zero field when it
serialises, but a parser reads an explicit zero the same way (tests/store/test_remote_wire.py
parses the bytes back with protobuf).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from numba import njit


@njit(cache=True)
def _varint_size(value: np.uint64) -> int:
    size = 1
    while value > 0x7F:
        value >>= np.uint64(7)
        size += 1
    return size


@njit(cache=True)
def _put_varint(out: npt.NDArray[np.uint8], pos: int, value: np.uint64) -> int:
    while value > 0x7F:
        out[pos] = np.uint8((value & np.uint64(0x7F)) | np.uint64(0x80))
        value >>= np.uint64(7)
        pos += 1
    out[pos] = np.uint8(value)
    return pos + 1


@njit(cache=True)
def _encode(
    label_buf: npt.NDArray[np.uint8],
    label_at: npt.NDArray[np.int64],
    bounds: npt.NDArray[np.int64],
    stamps: npt.NDArray[np.uint64],
    value_bytes: npt.NDArray[np.uint8],
) -> npt.NDArray[np.uint8]:
    """The WriteRequest, sized in a first pass and written in a second."""
    n_series = len(bounds) - 1
    sizes = np.empty(n_series, np.int64)
    total = 0
    for i in range(n_series):
        size = label_at[i + 1] - label_at[i]
        for k in range(bounds[i], bounds[i + 1]):
            size += 12 + _varint_size(stamps[k])  # tag, length, value field, time field
        sizes[i] = size
        total += 1 + _varint_size(np.uint64(size)) + size
    out = np.empty(total, np.uint8)
    pos = 0
    for i in range(n_series):
        out[pos] = 0x0A
        pos = _put_varint(out, pos + 1, np.uint64(sizes[i]))
        for j in range(label_at[i], label_at[i + 1]):
            out[pos] = label_buf[j]
            pos += 1
        for k in range(bounds[i], bounds[i + 1]):
            out[pos] = 0x12
            out[pos + 1] = 10 + _varint_size(stamps[k])
            out[pos + 2] = 0x09
            for b in range(8):
                out[pos + 3 + b] = value_bytes[8 * k + b]
            out[pos + 11] = 0x10
            pos = _put_varint(out, pos + 12, stamps[k])
    return out


def write_request(
    labels: Sequence[bytes],
    bounds: Sequence[int],
    ts: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
) -> bytes:
    """A serialised WriteRequest: series `i` has the serialised `labels[i]` and the points
    from `bounds[i]` up to `bounds[i + 1]`.

    >>> write_request([b""], [0, 2], np.array([1, 300]), np.array([0.0, 2.0])).hex()
    '0a1b120b0900000000000000001001120c09000000000000004010ac02'
    >>> from failcast.proto import remote_pb2
    >>> body = write_request([b"", b""], [0, 1, 3], np.array([5, 6, 7]), np.array([1.5, 2, 3]))
    >>> request = remote_pb2.WriteRequest.FromString(body)
    >>> [[s.timestamp for s in t.samples] for t in request.timeseries]
    [[5], [6, 7]]
    """
    label_at = np.zeros(len(labels) + 1, np.int64)
    np.cumsum([len(own) for own in labels], out=label_at[1:])
    out = _encode(
        np.frombuffer(b"".join(labels), np.uint8),
        label_at,
        np.asarray(bounds, np.int64),
        # Negative times are ten-byte varints of their two's complement, as protobuf writes.
        np.ascontiguousarray(ts, np.int64).view(np.uint64),
        np.ascontiguousarray(values, "<f8").view(np.uint8),
    )
    return out.tobytes()
