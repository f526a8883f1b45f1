"""A remote_write `WriteRequest` serialised from columns, without a message per sample.

Building one protobuf `Sample` per point costs a microsecond or more in Python, which is most
of what forwarding a large remote write to an engine costs. The wire format of a sample is
fixed enough to write with numpy for every point at once:

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

_MAX_VARINT = 10


def varint(value: int) -> bytes:
    """One unsigned varint (lengths of messages)."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_samples(
    ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Repeated `samples` fields (2 of TimeSeries) for points in the order given, and the
    offset in those bytes where each point starts (plus the end).

    >>> wire, offsets = encode_samples(np.array([1, 300], np.int64), np.array([0.0, 2.0]))
    >>> wire.hex(), offsets.tolist()
    ('120b0900000000000000001001120c09000000000000004010ac02', [0, 13, 27])
    """
    n = len(ts)
    rest = ts.astype(np.int64).view(np.uint64).copy()  # negative times: ten-byte varints
    groups = np.empty((n, _MAX_VARINT), np.uint8)
    lengths = np.ones(n, np.int64)
    for i in range(_MAX_VARINT):
        groups[:, i] = (rest & np.uint64(0x7F)).astype(np.uint8)
        rest >>= np.uint64(7)
        more = rest != 0
        groups[:, i] |= more.astype(np.uint8) << 7
        if i < _MAX_VARINT - 1:
            lengths += more
    record = np.empty((n, 12 + _MAX_VARINT), np.uint8)
    record[:, 0] = 0x12
    record[:, 1] = 10 + lengths
    record[:, 2] = 0x09
    record[:, 3:11] = values.astype("<f8").view(np.uint8).reshape(n, 8)
    record[:, 11] = 0x10
    record[:, 12:] = groups
    keep = np.arange(12 + _MAX_VARINT) < (12 + lengths)[:, None]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(12 + lengths, out=offsets[1:])
    return record[keep].tobytes(), offsets


def write_request(
    labels: Sequence[bytes],
    bounds: Sequence[int],
    ts: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
) -> bytes:
    """A serialised WriteRequest: series `i` has the serialised `labels[i]` and the points
    from `bounds[i]` up to `bounds[i + 1]`.

    >>> from failcast.proto import remote_pb2
    >>> body = write_request([b"", b""], [0, 1, 3], np.array([5, 6, 7]), np.array([1.5, 2, 3]))
    >>> request = remote_pb2.WriteRequest.FromString(body)
    >>> [[s.timestamp for s in t.samples] for t in request.timeseries]
    [[5], [6, 7]]
    """
    wire, offsets = encode_samples(ts, values)
    at = offsets[list(bounds)].tolist()
    parts: list[bytes] = []
    for i, own in enumerate(labels):
        size = len(own) + at[i + 1] - at[i]
        parts += (b"\x0a", varint(size), own, wire[at[i] : at[i + 1]])
    return b"".join(parts)
