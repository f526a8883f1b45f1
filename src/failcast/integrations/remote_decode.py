"""A remote_write `WriteRequest` read into columns, compiled, without an object per sample.

Parsing with protobuf and then reading `sample.timestamp` and `sample.value` in Python costs
about a microsecond a sample, most of what a remote write costs Failcast. `scan` walks the
serialised request once with numba and hands back, per series, where its labels lie in the
buffer, and per sample, its timestamp and its value's eight bytes, which numpy reads as
doubles. Unknown fields (metadata, exemplars, native histograms) are skipped by wire type, as
protobuf skips them; a request that does not parse is refused whole.

    WriteRequest = (field 1, bytes: TimeSeries)*
    TimeSeries   = (field 1, bytes: Label)* (field 2, bytes: Sample)*
    Label        = (field 1, bytes: name) (field 2, bytes: value)
    Sample       = (field 1, fixed64: value) (field 2, varint: timestamp)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]

_MALFORMED = -1
_NONE = np.zeros(0, np.int64)
_NO_BYTES = np.zeros((0, 8), np.uint8)


@njit(cache=True)
def _varint(buf: npt.NDArray[np.uint8], pos: int, end: int) -> tuple[int, int]:
    """(value, position after it), the value's 64 bits as a signed integer; position -1 when
    the varint runs past `end` or over ten bytes."""
    result = np.uint64(0)
    shift = np.uint64(0)
    while pos < end:
        byte = buf[pos]
        pos += 1
        result |= np.uint64(byte & 0x7F) << shift
        if byte < 0x80:
            return int(np.int64(result)), pos
        shift += np.uint64(7)
        if shift >= np.uint64(70):
            return 0, _MALFORMED
    return 0, _MALFORMED


@njit(cache=True)
def _skip(buf: npt.NDArray[np.uint8], pos: int, end: int, wire: int) -> int:
    """The position after a field of wire type `wire` whose value starts at `pos`."""
    if wire == 0:
        _, pos = _varint(buf, pos, end)
    elif wire == 1:
        pos += 8
    elif wire == 2:
        size, pos = _varint(buf, pos, end)
        if pos == _MALFORMED or size < 0:
            return _MALFORMED
        pos += size
    elif wire == 5:
        pos += 4
    else:
        return _MALFORMED
    return pos if pos <= end else _MALFORMED


@njit(cache=True)
def _label(buf: npt.NDArray[np.uint8], pos: int, end: int, out: Ints, row: int) -> bool:
    """The byte ranges of one Label's name and value into `out[row]`."""
    out[row, 0] = out[row, 1] = out[row, 2] = out[row, 3] = pos
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        if pos == _MALFORMED:
            return False
        field, wire = tag >> 3, tag & 7
        if (field == 1 or field == 2) and wire == 2:
            size, pos = _varint(buf, pos, end)
            if pos == _MALFORMED or size < 0 or pos + size > end:
                return False
            column = 0 if field == 1 else 2
            out[row, column] = pos
            out[row, column + 1] = pos + size
            pos += size
        else:
            pos = _skip(buf, pos, end, wire)
            if pos == _MALFORMED:
                return False
    return pos == end


@njit(cache=True)
def _sample(
    buf: npt.NDArray[np.uint8], pos: int, end: int, ts: Ints, value_bytes: Bytes, row: int
) -> bool:
    """One Sample's timestamp into `ts[row]` and its value's eight bytes into
    `value_bytes[row]` (left zero when absent: 0.0)."""
    ts[row] = 0
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        if pos == _MALFORMED:
            return False
        field, wire = tag >> 3, tag & 7
        if field == 1 and wire == 1:
            if pos + 8 > end:
                return False
            for b in range(8):
                value_bytes[row, b] = buf[pos + b]
            pos += 8
        elif field == 2 and wire == 0:
            stamp, pos = _varint(buf, pos, end)
            if pos == _MALFORMED:
                return False
            ts[row] = stamp
        else:
            pos = _skip(buf, pos, end, wire)
            if pos == _MALFORMED:
                return False
    return pos == end


@njit(cache=True)
def scan(
    buf: npt.NDArray[np.uint8],
    fill: bool,
    series: Ints,
    labels: Ints,
    ts: Ints,
    value_bytes: Bytes,
) -> tuple[int, int, int]:
    """Walk the request: with `fill` false, count (series, labels, samples); with it true,
    also write them into the arrays sized by the count. -1 series: the request is malformed.

    `series[i]` = (first label row, end label row, first sample row, end sample row, start of
    the first label's field, end of the last, 1 if the label fields are contiguous).
    `labels[j]` = (name start, name end, value start, value end), byte offsets into `buf`."""
    n_series = n_labels = n_samples = 0
    pos, end = 0, len(buf)
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        if pos == _MALFORMED:
            return -1, 0, 0
        field, wire = tag >> 3, tag & 7
        if field != 1 or wire != 2:
            pos = _skip(buf, pos, end, wire)
            if pos == _MALFORMED:
                return -1, 0, 0
            continue
        size, pos = _varint(buf, pos, end)
        if pos == _MALFORMED or size < 0 or pos + size > end:
            return -1, 0, 0
        stop = pos + size
        if fill:
            series[n_series, 0] = series[n_series, 1] = n_labels
            series[n_series, 2] = series[n_series, 3] = n_samples
            series[n_series, 4] = series[n_series, 5] = -1
            series[n_series, 6] = 1
        while pos < stop:
            field_start = pos
            tag, pos = _varint(buf, pos, stop)
            if pos == _MALFORMED:
                return -1, 0, 0
            field, wire = tag >> 3, tag & 7
            if (field == 1 or field == 2) and wire == 2:
                size, pos = _varint(buf, pos, stop)
                if pos == _MALFORMED or size < 0 or pos + size > stop:
                    return -1, 0, 0
                if field == 1:
                    if fill:
                        if not _label(buf, pos, pos + size, labels, n_labels):
                            return -1, 0, 0
                        if series[n_series, 4] < 0:
                            series[n_series, 4] = field_start
                        elif series[n_series, 5] != field_start:
                            series[n_series, 6] = 0
                        series[n_series, 5] = pos + size
                    n_labels += 1
                else:
                    if fill and not _sample(buf, pos, pos + size, ts, value_bytes, n_samples):
                        return -1, 0, 0
                    n_samples += 1
                pos += size
            else:
                pos = _skip(buf, pos, stop, wire)
                if pos == _MALFORMED:
                    return -1, 0, 0
        if pos != stop:
            return -1, 0, 0
        if fill:
            series[n_series, 1] = n_labels
            series[n_series, 3] = n_samples
        n_series += 1
    return n_series, n_labels, n_samples


@dataclass(frozen=True, slots=True)
class Columns:
    """A decoded request: `series` and `labels` rows as `scan` fills them, and every sample's
    timestamp and value in series order."""

    buffer: bytes
    series: Ints
    labels: Ints
    ts: Ints
    values: npt.NDArray[np.float64]

    def label_keys(self) -> list[bytes | None]:
        """The serialised label fields of each series, a key for its label set; None for a
        series whose label fields have other fields between them."""
        buffer = self.buffer
        series = self.series
        # Three lists of numbers rather than a list per row: on a server whose caches hold
        # millions of objects, every container allocated is a share of a full collection.
        return [
            buffer[max(start, 0) : max(end, 0)] if contiguous else None
            for start, end, contiguous in zip(
                series[:, 4].tolist(), series[:, 5].tolist(), series[:, 6].tolist(), strict=True
            )
        ]

    def label_pairs(self, row: int) -> list[tuple[str, str]]:
        """Series `row`'s (name, value) pairs in the order sent; raises UnicodeDecodeError."""
        first, last = self.series[row, 0:2].tolist()
        buffer = self.buffer
        return [
            (buffer[a:b].decode(), buffer[c:d].decode())
            for a, b, c, d in self.labels[first:last].tolist()
        ]


def decode(raw: bytes) -> Columns | None:
    """The columns of a serialised WriteRequest, or None when it does not parse."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    counts = scan(
        buf, False, np.zeros((0, 7), np.int64), np.zeros((0, 4), np.int64), _NONE, _NO_BYTES
    )
    n_series, n_labels, n_samples = counts
    if n_series < 0:
        return None
    series = np.empty((n_series, 7), np.int64)
    labels = np.empty((n_labels, 4), np.int64)
    ts = np.empty(n_samples, np.int64)
    value_bytes = np.zeros((n_samples, 8), np.uint8)
    if scan(buf, True, series, labels, ts, value_bytes)[0] != n_series:
        return None
    values = value_bytes.view("<f8").reshape(n_samples).astype(np.float64, copy=False)
    return Columns(raw, series, labels, ts, values)
