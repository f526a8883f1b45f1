"""Counter-based noise: a value is a pure function of (seed, stream, time).

Drawing noise from a hash instead of a sequential generator makes the fleet stateless in time:
one instant computed alone equals the same instant inside a month of history, two runs that
differ only by a fault are identical wherever the fault does not reach, and the live engine
needs no random state to carry between ticks.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
_MASK = (1 << 64) - 1
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_LOW16 = np.uint64(0xFFFF)
# Irwin-Hall of four uniforms has mean 2 and variance 4/12; this rescales it to N(0, 1)-like.
_IH_SCALE = 1.0 / (65536.0 * (4.0 / 12.0) ** 0.5)


def stream_key(seed: int, *names: str) -> int:
    """A 64-bit key for one noise stream, stable across processes and Python versions."""
    digest = hashlib.blake2b("\x1f".join(names).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "little") ^ (seed * 0x9E3779B97F4A7C15)) & _MASK


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The splitmix64 finaliser (wrapping uint64 arithmetic is intended)."""
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


def _hash(key: int, counters: NDArray[np.int64]) -> NDArray[np.uint64]:
    return _mix(counters.astype(np.uint64) * _GOLDEN + np.uint64(key))


def uniform(key: int, counters: NDArray[np.int64]) -> FloatArray:
    """Uniform values in [0, 1), one per counter."""
    return (_hash(key, counters) >> np.uint64(11)).astype(np.float64) * (1.0 / 2.0**53)


def normal(key: int, counters: NDArray[np.int64]) -> FloatArray:
    """Approximately standard normal values (bounded at about 3.5), one per counter."""
    h = _hash(key, counters)
    total = (h & _LOW16).astype(np.float64)
    for shift in (16, 32, 48):
        total += ((h >> np.uint64(shift)) & _LOW16).astype(np.float64)
    result: FloatArray = (total - 2.0 * 65535.0) * _IH_SCALE
    return result


def smooth(key: int, t: FloatArray, period_s: float) -> FloatArray:
    """Slowly wandering noise: normal values at knots `period_s` apart, eased in between."""
    position = t / period_s
    knot = np.floor(position)
    first = int(knot.min()) if knot.size else 0
    last = int(knot.max()) + 1 if knot.size else 1
    values = normal(key, np.arange(first, last + 1, dtype=np.int64))
    index = (knot - first).astype(np.intp)
    frac = position - knot
    ease = frac * frac * (3.0 - 2.0 * frac)
    return values[index] + (values[index + 1] - values[index]) * ease
