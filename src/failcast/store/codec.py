"""The sample chunk codec: one series' points of one window, packed into a few bytes each.

Timestamps are stored as delta-of-deltas and values as the XOR of each float64 bit pattern
with the previous one, as in Facebook's Gorilla and Prometheus. Regular scrapes make almost
every delta-of-delta zero and slowly moving values make the XORs mostly zero bits; instead of
a bit-level variable-length code, both columns are zigzagged where signed, split into byte
planes (all first bytes, then all second bytes, ...) so that the runs of zero bytes sit
together, and handed to zstd. That keeps encoding and decoding vectorised with numpy, and the
byte compressor is a proven library rather than our own bit packing.

The XOR works on bit patterns, so every float64 — NaN payloads and Prometheus staleness
markers included — comes back bit for bit; timestamp arithmetic wraps modulo 2**64, so every
sorted int64 sequence comes back too.

Layout: one version byte, the point count as a little-endian uint32, then the zstd frame of
the timestamp planes followed by the value planes.
"""

from __future__ import annotations

import struct

import cramjam
import numpy as np
import numpy.typing as npt

Int64s = npt.NDArray[np.int64]
Float64s = npt.NDArray[np.float64]

VERSION = 1
_HEADER = struct.Struct("<BI")
# zstd level: chunks are written once per window and read many times; beyond 9 the gain on
# these planes is under 1% for several times the encoding cost.
_LEVEL = 9


def _zigzag(x: Int64s) -> npt.NDArray[np.uint64]:
    return ((x << 1) ^ (x >> 63)).view(np.uint64)


def _unzigzag(u: npt.NDArray[np.uint64]) -> Int64s:
    return ((u >> np.uint64(1)) ^ (np.uint64(0) - (u & np.uint64(1)))).view(np.int64)


def _planes(words: npt.NDArray[np.uint64]) -> bytes:
    """The little-endian bytes of `words`, byte 0 of every word first, then byte 1, ..."""
    return words.astype("<u8").view(np.uint8).reshape(-1, 8).T.tobytes()


def _words(planes: bytes, n: int) -> npt.NDArray[np.uint64]:
    return np.frombuffer(planes, dtype=np.uint8).reshape(8, n).T.copy().view("<u8").ravel()


def encode(ts: Int64s, values: Float64s) -> bytes:
    """Pack points with strictly increasing timestamps into a chunk."""
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    n = len(ts)
    if len(bits) != n:
        raise ValueError("timestamps and values must have the same length")
    with np.errstate(over="ignore"):
        deltas = np.diff(ts, prepend=np.int64(0))
        dod = deltas.copy()
        dod[2:] = deltas[2:] - deltas[1:-1]
    xor = bits.copy()
    xor[1:] = bits[1:] ^ bits[:-1]
    body = _planes(_zigzag(dod)) + _planes(xor)
    return _HEADER.pack(VERSION, n) + bytes(cramjam.zstd.compress(body, level=_LEVEL))


def decode(chunk: bytes) -> tuple[Int64s, Float64s]:
    """The timestamps and values packed by `encode`."""
    version, n = _HEADER.unpack_from(chunk)
    if version != VERSION:
        raise ValueError(f"unknown chunk version {version}")
    body = bytes(cramjam.zstd.decompress(chunk[_HEADER.size :]))
    if len(body) != 16 * n:
        raise ValueError("chunk body does not match its point count")
    dod = _unzigzag(_words(body[: 8 * n], n))
    xor = _words(body[8 * n :], n)
    with np.errstate(over="ignore"):
        deltas = dod.copy()
        deltas[1:] = np.cumsum(dod[1:], dtype=np.int64)
        ts = np.cumsum(deltas, dtype=np.int64)
    values = np.bitwise_xor.accumulate(xor).view(np.float64)
    return ts, values


def merge(
    old_ts: Int64s, old_values: Float64s, new_ts: Int64s, new_values: Float64s
) -> tuple[Int64s, Float64s]:
    """Both point sets sorted by time; where both have a timestamp, the new value wins."""
    ts = np.concatenate([old_ts, new_ts])
    values = np.concatenate([old_values, new_values])
    # A stable sort keeps the new point after the old one of the same timestamp.
    order = np.argsort(ts, kind="stable")
    ts, values = ts[order], values[order]
    keep = np.ones(len(ts), dtype=bool)
    keep[:-1] = ts[:-1] != ts[1:]
    return ts[keep], values[keep]
