"""PromQL evaluation over series held in memory: the subset that dashboards use, with
Prometheus' semantics (2.x), and a clear refusal of the rest.

The expression comes from `promql_parser` (Python bindings of a Rust PromQL parser). Evaluation
runs over a grid of timestamps (one for an instant query) and every node yields either a scalar
(one value per step) or an instant vector (per label set, one value per step, NaN where the
series has no value). Range vectors only exist as arguments of the functions that take them.

Supported: selectors with `=`, `!=`, `=~`, `!~` and `offset`; `rate`, `increase`, `delta`,
`irate`, `idelta`, `resets`, `changes` and `avg|sum|min|max|count|last|stddev|stdvar|quantile|
present_over_time`; `sum|avg|min|max|count|stddev|stdvar|group|quantile|topk|bottomk` with
`by`/`without`; arithmetic, comparison (with `bool`) and set operators between vectors and
scalars, with `on`/`ignoring` and `group_left`/`group_right`; `histogram_quantile`, `abs`,
`ceil`, `floor`, `round`, `sqrt`, `exp`, `ln`, `log2`, `log10`, `clamp`, `clamp_min`,
`clamp_max`, `scalar`, `vector`, `time`, `timestamp`, `label_replace`. Subqueries, `@` and the
native-histogram functions are refused with an error that names them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import promql_parser as pp

from failcast.store.labels import NAME as NAME
from failcast.store.labels import BadMatcher, from_parser
from failcast.store.labels import Matcher as Matcher

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Labels = dict[str, str]

LOOKBACK_MS = 5 * 60_000


class Unsupported(ValueError):
    """Valid PromQL outside the evaluated subset; the message names the construct."""


class BadQuery(ValueError):
    """A query that cannot be parsed or evaluated as written."""


@dataclass(frozen=True)
class Selector:
    """A series selector: matchers (the metric name is a `__name__` matcher) and an offset."""

    matchers: tuple[Matcher, ...]
    offset_ms: int = 0

    @property
    def name(self) -> str | None:
        for m in self.matchers:
            if m.name == NAME and m.op == "=":
                return m.value
        return None

    def matches(self, labels: Labels) -> bool:
        return all(m.matches(labels.get(m.name, "")) for m in self.matchers)


@dataclass
class Series:
    """One series: its labels (with `__name__`) and its samples in time order (ms)."""

    labels: Labels
    ts: IntArray
    values: FloatArray


@dataclass
class Vector:
    """An instant vector over the steps: label sets and their values (NaN = no sample)."""

    labels: list[Labels]
    values: FloatArray  # (series, steps)


@dataclass
class Scalar:
    values: FloatArray  # (steps,)


Value = Vector | Scalar


@dataclass
class Query:
    """A parsed expression with the selectors it reads and the time each must cover."""

    expr: Any
    selectors: list[tuple[Selector, int]] = field(default_factory=list)  # (selector, range ms)


def _enum(value: Any) -> str:
    """The member name of one of the parser's enums (`MatchOp.Re` -> `Re`)."""
    return str(value).rsplit(".", 1)[-1]


def _duration_ms(value: Any) -> int:
    return round(float(value.total_seconds()) * 1000)


def _selector(vs: Any) -> Selector:
    if getattr(vs, "at", None) is not None:
        raise Unsupported("the @ modifier is not supported")
    if vs.matchers.or_matchers:
        raise Unsupported("'or' inside a selector is not supported")
    try:
        matchers = from_parser(vs)
    except BadMatcher as exc:
        raise BadQuery(str(exc)) from None
    if not any(m.matches("") is False for m in matchers):
        raise BadQuery("vector selector must contain at least one non-empty matcher")
    offset = _duration_ms(vs.offset) if vs.offset is not None else 0
    return Selector(tuple(matchers), offset)


def parse(text: str) -> Query:
    """Parse a PromQL expression and list its selectors; BadQuery or Unsupported on failure."""
    try:
        expr = pp.parse(text)
    except (ValueError, RuntimeError) as exc:
        raise BadQuery(f"parse error: {exc}") from None
    query = Query(expr)
    for node, range_ms in _walk(expr, 0):
        query.selectors.append((_selector(node), range_ms))
    return query


def _walk(node: Any, range_ms: int) -> Iterator[tuple[Any, int]]:
    kind = type(node).__name__
    if kind == "VectorSelector":
        yield node, range_ms
    elif kind == "MatrixSelector":
        yield node.vector_selector, _duration_ms(node.range)
    elif kind == "SubqueryExpr":
        raise Unsupported("subqueries are not supported")
    elif kind in ("ParenExpr", "UnaryExpr"):
        yield from _walk(node.expr, range_ms)
    elif kind == "AggregateExpr":
        if node.param is not None:
            yield from _walk(node.param, 0)
        yield from _walk(node.expr, 0)
    elif kind == "BinaryExpr":
        yield from _walk(node.lhs, 0)
        yield from _walk(node.rhs, 0)
    elif kind == "Call":
        for arg in node.args:
            yield from _walk(arg, 0)
    elif kind not in ("NumberLiteral", "StringLiteral"):
        raise Unsupported(f"{kind} is not supported")


# -- evaluation ---------------------------------------------------------------------------------


@dataclass
class Context:
    steps: IntArray  # evaluation timestamps, ms
    data: dict[Selector, list[Series]]

    @property
    def n(self) -> int:
        return len(self.steps)


def evaluate(query: Query, steps: IntArray, data: dict[Selector, list[Series]]) -> Value:
    """The expression's value at each step, from the series fetched for its selectors."""
    return _eval(query.expr, Context(np.asarray(steps, dtype=np.int64), data))


def _eval(node: Any, ctx: Context) -> Value:
    kind = type(node).__name__
    if kind == "NumberLiteral":
        return Scalar(np.full(ctx.n, float(node.val)))
    if kind == "ParenExpr":
        return _eval(node.expr, ctx)
    if kind == "UnaryExpr":
        inner = _eval(node.expr, ctx)
        if isinstance(inner, Scalar):
            return Scalar(-inner.values)
        return Vector([_drop_name(lab) for lab in inner.labels], -inner.values)
    if kind == "VectorSelector":
        return _instant(_selector(node), ctx)
    if kind == "MatrixSelector":
        raise BadQuery("a range vector cannot be the result of an expression; use it in a function")
    if kind == "StringLiteral":
        raise Unsupported("string results are not supported")
    if kind == "AggregateExpr":
        return _aggregate(node, ctx)
    if kind == "BinaryExpr":
        return _binary(node, ctx)
    if kind == "Call":
        return _call(node, ctx)
    raise Unsupported(f"{kind} is not supported")


def _drop_name(labels: Labels) -> Labels:
    return {k: v for k, v in labels.items() if k != NAME}


def _instant(selector: Selector, ctx: Context) -> Vector:
    """The newest sample at most LOOKBACK_MS old at each step (Prometheus' instant selection)."""
    labels: list[Labels] = []
    rows: list[FloatArray] = []
    t = ctx.steps - selector.offset_ms
    for series in ctx.data.get(selector, []):
        if not len(series.ts):
            continue
        idx = np.searchsorted(series.ts, t, side="right") - 1
        ok = idx >= 0
        safe = np.where(ok, idx, 0)
        ok &= series.ts[safe] > t - LOOKBACK_MS
        row = np.where(ok, series.values[safe], np.nan)
        if np.isnan(row).all() and not ok.any():
            continue
        labels.append(dict(series.labels))
        rows.append(row)
    return Vector(labels, _stack(rows, ctx.n))


def _stack(rows: list[FloatArray], n: int) -> FloatArray:
    return np.vstack(rows) if rows else np.empty((0, n))


# -- functions over range vectors ------------------------------------------------------------


def _windows(
    series: Series, selector: Selector, range_ms: int, ctx: Context
) -> tuple[IntArray, IntArray]:
    """For each step, the sample index range [lo, hi) inside [t - range, t] (offset applied)."""
    end = ctx.steps - selector.offset_ms
    lo = np.searchsorted(series.ts, end - range_ms, side="left")
    hi = np.searchsorted(series.ts, end, side="right")
    return lo.astype(np.int64), hi.astype(np.int64)


def _extrapolated(
    series: Series,
    lo: IntArray,
    hi: IntArray,
    ends: IntArray,
    range_ms: int,
    counter: bool,
    rate: bool,
) -> FloatArray:
    """Prometheus' extrapolatedRate for every step (rate, increase, delta)."""
    ts = series.ts
    v = series.values
    # Counter resets: each drop adds the value before it, counted inside a window only.
    if counter and len(v) > 1:
        drops = np.concatenate(([0.0], np.where(np.diff(v) < 0, v[:-1], 0.0)))
        adjusted = v + np.cumsum(drops)
    else:
        adjusted = v
    out = np.full(len(lo), np.nan)
    for i in range(len(lo)):
        a, b = int(lo[i]), int(hi[i]) - 1
        if b - a < 1:
            continue
        result = float(adjusted[b] - adjusted[a])
        # Differences of integer milliseconds first, as Prometheus does: seconds since 1970
        # as floats would lose the last digits.
        to_start = int(ts[a] - (ends[i] - range_ms)) / 1000.0
        to_end = int(ends[i] - ts[b]) / 1000.0
        sampled = int(ts[b] - ts[a]) / 1000.0
        average = sampled / (b - a)
        if counter and result > 0 and v[a] >= 0:
            to_zero = sampled * (v[a] / result)
            if to_zero < to_start:
                to_start = to_zero
        threshold = average * 1.1
        interval = sampled
        interval += to_start if to_start < threshold else average / 2
        interval += to_end if to_end < threshold else average / 2
        result *= interval / sampled
        if rate:
            result /= range_ms / 1000.0
        out[i] = result
    return out


def _instant_rate(series: Series, lo: IntArray, hi: IntArray, rate: bool) -> FloatArray:
    out = np.full(len(lo), np.nan)
    ts, v = series.ts, series.values
    for i in range(len(lo)):
        b = int(hi[i]) - 1
        if b - int(lo[i]) < 1:
            continue
        last, prev = v[b], v[b - 1]
        if rate:
            diff = last if last < prev else last - prev
            out[i] = diff / (int(ts[b] - ts[b - 1]) / 1000.0)
        else:
            out[i] = last - prev
    return out


def _over_time(series: Series, lo: IntArray, hi: IntArray, how: str, q: float) -> FloatArray:
    out = np.full(len(lo), np.nan)
    v = series.values
    reducers: dict[str, Callable[[FloatArray], float]] = {
        "avg": lambda w: float(np.mean(w)),
        "sum": lambda w: float(np.sum(w)),
        "min": lambda w: float(np.min(w)),
        "max": lambda w: float(np.max(w)),
        "count": lambda w: float(len(w)),
        "last": lambda w: float(w[-1]),
        "stddev": lambda w: float(np.std(w)),
        "stdvar": lambda w: float(np.var(w)),
        "present": lambda w: 1.0,
        "quantile": lambda w: _quantile(q, w),
        "resets": lambda w: float(np.sum(np.diff(w) < 0)),
        "changes": lambda w: float(np.sum(np.diff(w) != 0)),
    }
    reduce = reducers[how]
    for i in range(len(lo)):
        a, b = int(lo[i]), int(hi[i])
        if b > a:
            out[i] = reduce(v[a:b])
    return out


def _quantile(q: float, values: FloatArray) -> float:
    """Prometheus' quantile: linear interpolation between closest ranks."""
    if len(values) == 0:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = np.sort(values)
    rank = q * (len(ordered) - 1)
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    weight = rank - lower
    return float(ordered[lower] * (1 - weight) + ordered[upper] * weight)


_RANGE_FUNCTIONS = {
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "resets",
    "changes",
    *(
        f"{how}_over_time"
        for how in (
            "avg",
            "sum",
            "min",
            "max",
            "count",
            "last",
            "stddev",
            "stdvar",
            "quantile",
            "present",
        )
    ),
}
_MATH: dict[str, Callable[[FloatArray], FloatArray]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
}


def _scalar_arg(node: Any, ctx: Context, what: str) -> FloatArray:
    value = _eval(node, ctx)
    if not isinstance(value, Scalar):
        raise BadQuery(f"{what} must be a scalar")
    return value.values


def _call(node: Any, ctx: Context) -> Value:
    name = node.func.name
    args = list(node.args)
    if name in _RANGE_FUNCTIONS:
        return _range_call(name, args, ctx)
    if name in _MATH or name in ("round", "clamp", "clamp_min", "clamp_max", "timestamp"):
        vector = _eval(args[0], ctx)
        if not isinstance(vector, Vector):
            raise BadQuery(f"{name}() takes an instant vector")
        labels = [_drop_name(lab) for lab in vector.labels]
        with np.errstate(all="ignore"):
            if name in _MATH:
                return Vector(labels, _MATH[name](vector.values))
            if name == "round":
                to = (
                    _scalar_arg(args[1], ctx, "round()'s precision")
                    if len(args) > 1
                    else np.ones(ctx.n)
                )
                return Vector(labels, np.floor(vector.values / to + 0.5) * to)
            if name == "clamp":
                lo, hi = (
                    _scalar_arg(args[1], ctx, "clamp()'s min"),
                    _scalar_arg(args[2], ctx, "clamp()'s max"),
                )
                return Vector(labels, np.minimum(np.maximum(vector.values, lo), hi))
            if name == "clamp_min":
                return Vector(labels, np.maximum(vector.values, _scalar_arg(args[1], ctx, "min")))
            if name == "clamp_max":
                return Vector(labels, np.minimum(vector.values, _scalar_arg(args[1], ctx, "max")))
        # timestamp(): when each series' sample at a step was taken.
        return _timestamps(args[0], ctx)
    if name == "time":
        return Scalar(ctx.steps / 1000.0)
    if name == "vector":
        return Vector([{}], _scalar_arg(args[0], ctx, "vector()'s argument")[None, :])
    if name == "scalar":
        vector = _eval(args[0], ctx)
        if not isinstance(vector, Vector):
            raise BadQuery("scalar() takes an instant vector")
        present = ~np.isnan(vector.values)
        single = present.sum(axis=0) == 1
        first = np.where(present, vector.values, 0.0).sum(axis=0)
        return Scalar(np.where(single, first, np.nan))
    if name == "histogram_quantile":
        return _histogram_quantile(_scalar_arg(args[0], ctx, "the quantile"), _eval(args[1], ctx))
    if name == "label_replace":
        return _label_replace(args, ctx)
    raise Unsupported(f"function {name}() is not supported")


def _timestamps(node: Any, ctx: Context) -> Vector:
    if type(node).__name__ != "VectorSelector":
        raise Unsupported("timestamp() of anything but a selector is not supported")
    selector = _selector(node)
    labels: list[Labels] = []
    rows: list[FloatArray] = []
    t = ctx.steps - selector.offset_ms
    for series in ctx.data.get(selector, []):
        idx = np.searchsorted(series.ts, t, side="right") - 1
        safe = np.where(idx >= 0, idx, 0)
        ok = (idx >= 0) & (series.ts[safe] > t - LOOKBACK_MS)
        if ok.any():
            labels.append(_drop_name(series.labels))
            rows.append(np.where(ok, series.ts[safe] / 1000.0, np.nan))
    return Vector(labels, _stack(rows, ctx.n))


def _range_call(name: str, args: list[Any], ctx: Context) -> Vector:
    q = 0.0
    if name == "quantile_over_time":
        values = _scalar_arg(args[0], ctx, "quantile_over_time()'s quantile")
        q = float(values[0])
        args = args[1:]
    matrix = args[0]
    if type(matrix).__name__ != "MatrixSelector":
        raise BadQuery(f"{name}() takes a range vector such as metric[5m]")
    selector = _selector(matrix.vector_selector)
    range_ms = _duration_ms(matrix.range)
    ends = ctx.steps - selector.offset_ms
    labels: list[Labels] = []
    rows: list[FloatArray] = []
    for series in ctx.data.get(selector, []):
        lo, hi = _windows(series, selector, range_ms, ctx)
        if name in ("rate", "increase", "delta"):
            row = _extrapolated(series, lo, hi, ends, range_ms, name != "delta", name == "rate")
        elif name in ("irate", "idelta"):
            row = _instant_rate(series, lo, hi, name == "irate")
        elif name in ("resets", "changes"):
            row = _over_time(series, lo, hi, name, q)
        else:
            row = _over_time(series, lo, hi, name.removesuffix("_over_time"), q)
        if np.isnan(row).all():
            continue
        labels.append(
            dict(series.labels) if name == "last_over_time" else _drop_name(series.labels)
        )
        rows.append(row)
    return Vector(labels, _stack(rows, ctx.n))


def _histogram_quantile(q: FloatArray, vector: Value) -> Vector:
    """Quantiles from classic histogram buckets (`le` labels), as Prometheus computes them."""
    if not isinstance(vector, Vector):
        raise BadQuery("histogram_quantile() takes an instant vector of buckets")
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, int]]] = {}
    for i, labels in enumerate(vector.labels):
        if "le" not in labels:
            continue
        try:
            bound = float(labels["le"].replace("+Inf", "inf"))
        except ValueError:
            continue
        key = tuple(sorted((k, v) for k, v in labels.items() if k not in ("le", NAME)))
        groups.setdefault(key, []).append((bound, i))
    out_labels: list[Labels] = []
    rows: list[FloatArray] = []
    steps = vector.values.shape[1] if vector.values.ndim == 2 else len(q)
    for key, buckets in groups.items():
        buckets.sort()
        bounds = np.array([b for b, _ in buckets])
        counts = vector.values[[i for _, i in buckets]]
        row = np.full(steps, np.nan)
        for s in range(steps):
            row[s] = _bucket_quantile(float(q[s]), bounds, counts[:, s])
        out_labels.append(dict(key))
        rows.append(row)
    return Vector(out_labels, _stack(rows, steps))


def _bucket_quantile(q: float, bounds: FloatArray, counts: FloatArray) -> float:
    present = ~np.isnan(counts)
    bounds, counts = bounds[present], counts[present]
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(counts) < 2 or not math.isinf(bounds[-1]):
        return math.nan
    counts = np.maximum.accumulate(counts)  # buckets must not decrease
    total = counts[-1]
    if total == 0:
        return math.nan
    rank = q * total
    b = int(np.searchsorted(counts, rank, side="left"))
    if b == len(counts) - 1:
        return float(bounds[-2])
    if b == 0 and bounds[0] <= 0:
        return float(bounds[0])
    start, end = (0.0, bounds[b]) if b == 0 else (bounds[b - 1], bounds[b])
    below = 0.0 if b == 0 else counts[b - 1]
    in_bucket = counts[b] - below
    if in_bucket == 0:
        return float(end)
    return float(start + (end - start) * ((rank - below) / in_bucket))


def _label_replace(args: list[Any], ctx: Context) -> Vector:
    vector = _eval(args[0], ctx)
    if not isinstance(vector, Vector):
        raise BadQuery("label_replace() takes an instant vector")
    texts = []
    for arg in args[1:]:
        if type(arg).__name__ != "StringLiteral":
            raise BadQuery("label_replace() takes string arguments")
        texts.append(arg.val)
    dst, replacement, src, pattern = texts
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise BadQuery(f"invalid regular expression {pattern!r}: {exc}") from None
    out = []
    for labels in vector.labels:
        found = regex.fullmatch(labels.get(src, ""))
        new = dict(labels)
        if found is not None:
            value = found.expand(re.sub(r"\$(\d+)", r"\\\1", replacement))
            if value:
                new[dst] = value
            else:
                new.pop(dst, None)
        out.append(new)
    return Vector(out, vector.values)


# -- aggregation ---------------------------------------------------------------------------------


def _group_key(labels: Labels, names: list[str], without: bool) -> tuple[tuple[str, str], ...]:
    if without:
        return tuple(sorted((k, v) for k, v in labels.items() if k not in names and k != NAME))
    return tuple(sorted((k, labels[k]) for k in names if k in labels))


def _aggregate(node: Any, ctx: Context) -> Vector:
    op = str(node.op)
    inner = _eval(node.expr, ctx)
    if not isinstance(inner, Vector):
        raise BadQuery(f"{op}() takes an instant vector")
    names: list[str] = []
    without = False
    if node.modifier is not None:
        names = list(node.modifier.labels)
        without = _enum(node.modifier.type) == "Without"
    param = None
    if op in ("topk", "bottomk", "quantile"):
        param = _scalar_arg(node.param, ctx, f"{op}()'s parameter")
    elif op not in ("sum", "avg", "min", "max", "count", "stddev", "stdvar", "group"):
        raise Unsupported(f"aggregation {op}() is not supported")
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for i, labels in enumerate(inner.labels):
        groups.setdefault(_group_key(labels, names, without), []).append(i)
    out_labels: list[Labels] = []
    rows: list[FloatArray] = []
    for key, members in groups.items():
        block = inner.values[members]
        present = ~np.isnan(block)
        any_present = present.any(axis=0)
        with np.errstate(all="ignore"):
            if op in ("topk", "bottomk"):
                assert param is not None
                kept = _top(block, param, op == "topk")
                for j, member in enumerate(members):
                    if not np.isnan(kept[j]).all():
                        out_labels.append(dict(inner.labels[member]))
                        rows.append(kept[j])
                continue
            if op == "sum":
                row = np.nansum(block, axis=0)
            elif op == "avg":
                row = np.nanmean(np.where(present, block, np.nan), axis=0)
            elif op == "min":
                row = np.nanmin(np.where(present, block, np.inf), axis=0)
            elif op == "max":
                row = np.nanmax(np.where(present, block, -np.inf), axis=0)
            elif op == "count":
                row = present.sum(axis=0).astype(np.float64)
            elif op == "group":
                row = np.ones(block.shape[1])
            elif op == "stddev":
                row = np.nanstd(block, axis=0)
            elif op == "stdvar":
                row = np.nanvar(block, axis=0)
            else:
                assert param is not None
                row = np.array(
                    [
                        _quantile(float(param[s]), block[present[:, s], s])
                        for s in range(block.shape[1])
                    ]
                )
        out_labels.append(dict(key))
        rows.append(np.where(any_present, row, np.nan))
    return Vector(out_labels, _stack(rows, ctx.n))


def _top(block: FloatArray, k: FloatArray, largest: bool) -> FloatArray:
    out = np.full(block.shape, np.nan)
    for s in range(block.shape[1]):
        column = block[:, s]
        ok = np.flatnonzero(~np.isnan(column))
        count = int(k[s]) if math.isfinite(k[s]) else 0
        if count <= 0 or not len(ok):
            continue
        order = ok[np.argsort(column[ok], kind="stable")]
        chosen = order[::-1][:count] if largest else order[:count]
        out[chosen, s] = column[chosen]
    return out


# -- binary operators ------------------------------------------------------------------------

_ARITHMETIC: dict[str, Callable[[FloatArray, FloatArray], FloatArray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,
    "^": np.power,
}
_COMPARISON: dict[str, Callable[[FloatArray, FloatArray], Any]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}


def _apply(op: str, a: FloatArray, b: FloatArray, return_bool: bool) -> tuple[FloatArray, Any]:
    """(result, keep) of `a op b`; `keep` filters a comparison's left side."""
    with np.errstate(all="ignore"):
        if op in _ARITHMETIC:
            return _ARITHMETIC[op](a, b), None
        if op in _COMPARISON:
            hit = _COMPARISON[op](a, b)
            if return_bool:
                return np.where(np.isnan(a) | np.isnan(b), np.nan, hit.astype(np.float64)), None
            return a, hit
    raise Unsupported(f"operator {op} is not supported")


def _binary(node: Any, ctx: Context) -> Value:
    op = str(node.op)
    mod = node.modifier
    return_bool = bool(mod is not None and mod.return_bool)
    lhs, rhs = _eval(node.lhs, ctx), _eval(node.rhs, ctx)
    if op in ("and", "or", "unless"):
        if not isinstance(lhs, Vector) or not isinstance(rhs, Vector):
            raise BadQuery(f"'{op}' works between two instant vectors")
        return _set_op(op, lhs, rhs, mod)
    if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
        if op in _COMPARISON and not return_bool:
            raise BadQuery("comparisons between scalars must use bool")
        value, _ = _apply(op, lhs.values, rhs.values, return_bool)
        return Scalar(value)
    if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
        value, keep = _apply(op, lhs.values, rhs.values[None, :], return_bool)
        names = lhs.labels if keep is not None else [_drop_name(lab) for lab in lhs.labels]
        if keep is not None:
            value = np.where(keep, value, np.nan)
        return _nonempty(names, value)
    if isinstance(lhs, Scalar) and isinstance(rhs, Vector):
        value, keep = _apply(op, lhs.values[None, :], rhs.values, return_bool)
        if keep is not None:
            value = np.where(keep, rhs.values, np.nan)
            return _nonempty(rhs.labels, value)
        return _nonempty([_drop_name(lab) for lab in rhs.labels], value)
    assert isinstance(lhs, Vector) and isinstance(rhs, Vector)
    return _vector_op(op, lhs, rhs, mod, return_bool)


def _nonempty(labels: list[Labels], values: FloatArray) -> Vector:
    keep: list[bool] = [bool(not np.isnan(row).all()) for row in values]
    return Vector(
        [lab for lab, k in zip(labels, keep, strict=True) if k],
        values[np.array(keep, dtype=bool)] if len(keep) else values,
    )


def _signature(labels: Labels, mod: Any) -> tuple[tuple[str, str], ...]:
    matching = getattr(mod, "matching", None) if mod is not None else None
    if matching is None:
        return tuple(sorted((k, v) for k, v in labels.items() if k != NAME))
    names = set(matching.labels)
    if _enum(matching.type) == "Include":  # on(...)
        return tuple(sorted((k, v) for k, v in labels.items() if k in names))
    return tuple(sorted((k, v) for k, v in labels.items() if k not in names and k != NAME))


def _vector_op(op: str, lhs: Vector, rhs: Vector, mod: Any, return_bool: bool) -> Vector:
    card = getattr(mod, "card", None) if mod is not None else None
    card_name = _enum(card) if card is not None else "OneToOne"
    if card_name == "ManyToMany":
        raise BadQuery(f"operator {op} needs one-to-one or group_left/group_right matching")
    swap = card_name == "OneToMany"  # group_right: the right side is the "many" side
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    index: dict[tuple[tuple[str, str], ...], int] = {}
    for i, labels in enumerate(one.labels):
        key = _signature(labels, mod)
        if key in index:
            raise BadQuery(
                "many-to-many matching not allowed: matching labels must be unique on one side"
            )
        index[key] = i
    out_labels: list[Labels] = []
    rows: list[FloatArray] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    include = list(getattr(mod, "group_labels", None) or []) if mod is not None else []
    for i, labels in enumerate(many.labels):
        key = _signature(labels, mod)
        j = index.get(key)
        if j is None:
            continue
        if card_name == "OneToOne":
            if key in seen:
                raise BadQuery("many-to-many matching not allowed: use group_left or group_right")
            seen.add(key)
        a, b = (one.values[j], many.values[i]) if swap else (many.values[i], one.values[j])
        value, keep = _apply(op, a, b, return_bool)
        if keep is not None:
            value = np.where(keep, a, np.nan)
            result = dict(lhs.labels[j] if swap else labels)
        else:
            result = _result_labels(labels, mod, card_name)
        for name in include:
            if name in one.labels[j]:
                result[name] = one.labels[j][name]
        out_labels.append(result)
        rows.append(value)
    return _nonempty(out_labels, _stack(rows, lhs.values.shape[1] if lhs.values.ndim == 2 else 0))


def _result_labels(labels: Labels, mod: Any, card: str) -> Labels:
    """An arithmetic result's labels: one-to-one matching keeps the matched labels (only the
    `on(...)` ones, or all but the `ignoring(...)` ones); otherwise the many side's labels,
    without the metric name."""
    matching = getattr(mod, "matching", None) if mod is not None else None
    if card == "OneToOne" and matching is not None:
        # on(...) keeps only those labels; ignoring(...) drops them.
        return dict(_signature(labels, mod))
    return _drop_name(labels)


def _set_op(op: str, lhs: Vector, rhs: Vector, mod: Any) -> Vector:
    steps = lhs.values.shape[1] if len(lhs.labels) else rhs.values.shape[1]
    right: dict[tuple[tuple[str, str], ...], FloatArray] = {}
    for i, labels in enumerate(rhs.labels):
        key = _signature(labels, mod)
        present = ~np.isnan(rhs.values[i])
        right[key] = right.get(key, np.zeros(steps, dtype=bool)) | present
    out_labels: list[Labels] = []
    rows: list[FloatArray] = []
    left_keys: dict[tuple[tuple[str, str], ...], FloatArray] = {}
    for i, labels in enumerate(lhs.labels):
        key = _signature(labels, mod)
        there = right.get(key, np.zeros(steps, dtype=bool))
        present = ~np.isnan(lhs.values[i])
        left_keys[key] = left_keys.get(key, np.zeros(steps, dtype=bool)) | present
        if op == "and":
            row = np.where(there, lhs.values[i], np.nan)
        elif op == "unless":
            row = np.where(there, np.nan, lhs.values[i])
        else:
            row = lhs.values[i]
        out_labels.append(dict(labels))
        rows.append(row)
    if op == "or":
        for i, labels in enumerate(rhs.labels):
            key = _signature(labels, mod)
            taken = left_keys.get(key, np.zeros(steps, dtype=bool))
            out_labels.append(dict(labels))
            rows.append(np.where(taken, np.nan, rhs.values[i]))
    return _nonempty(out_labels, _stack(rows, steps))
