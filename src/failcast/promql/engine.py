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

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from failcast.promql.expr import (
    LOOKBACK_MS,
    BadQuery,
    FloatArray,
    IntArray,
    Labels,
    Query,
    Scalar,
    Selector,
    Series,
    Unsupported,
    Value,
    Vector,
    drop_name,
    duration_ms,
    enum,
    selector_of,
    stack,
)
from failcast.promql.operators import COMPARISON, apply_op, nonempty, set_op, vector_op
from failcast.promql.windows import (
    RANGE_FUNCTIONS,
    extrapolated,
    histogram_quantile,
    instant_rate,
    over_time,
    quantile,
    top,
)
from failcast.store.labels import NAME as NAME
from failcast.store.labels import Matcher as Matcher

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
        return Vector([drop_name(lab) for lab in inner.labels], -inner.values)
    if kind == "VectorSelector":
        return _instant(selector_of(node), ctx)
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
    return Vector(labels, stack(rows, ctx.n))


# -- functions over range vectors ------------------------------------------------------------


def _windows(
    series: Series, selector: Selector, range_ms: int, ctx: Context
) -> tuple[IntArray, IntArray]:
    """For each step, the sample index range [lo, hi) inside [t - range, t] (offset applied)."""
    end = ctx.steps - selector.offset_ms
    lo = np.searchsorted(series.ts, end - range_ms, side="left")
    hi = np.searchsorted(series.ts, end, side="right")
    return lo.astype(np.int64), hi.astype(np.int64)


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
    if name in RANGE_FUNCTIONS:
        return _range_call(name, args, ctx)
    if name in _MATH or name in ("round", "clamp", "clamp_min", "clamp_max", "timestamp"):
        vector = _eval(args[0], ctx)
        if not isinstance(vector, Vector):
            raise BadQuery(f"{name}() takes an instant vector")
        labels = [drop_name(lab) for lab in vector.labels]
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
        return histogram_quantile(_scalar_arg(args[0], ctx, "the quantile"), _eval(args[1], ctx))
    if name == "label_replace":
        return _label_replace(args, ctx)
    raise Unsupported(f"function {name}() is not supported")


def _timestamps(node: Any, ctx: Context) -> Vector:
    if type(node).__name__ != "VectorSelector":
        raise Unsupported("timestamp() of anything but a selector is not supported")
    selector = selector_of(node)
    labels: list[Labels] = []
    rows: list[FloatArray] = []
    t = ctx.steps - selector.offset_ms
    for series in ctx.data.get(selector, []):
        idx = np.searchsorted(series.ts, t, side="right") - 1
        safe = np.where(idx >= 0, idx, 0)
        ok = (idx >= 0) & (series.ts[safe] > t - LOOKBACK_MS)
        if ok.any():
            labels.append(drop_name(series.labels))
            rows.append(np.where(ok, series.ts[safe] / 1000.0, np.nan))
    return Vector(labels, stack(rows, ctx.n))


def _range_call(name: str, args: list[Any], ctx: Context) -> Vector:
    q = 0.0
    if name == "quantile_over_time":
        values = _scalar_arg(args[0], ctx, "quantile_over_time()'s quantile")
        q = float(values[0])
        args = args[1:]
    matrix = args[0]
    if type(matrix).__name__ != "MatrixSelector":
        raise BadQuery(f"{name}() takes a range vector such as metric[5m]")
    selector = selector_of(matrix.vector_selector)
    range_ms = duration_ms(matrix.range)
    ends = ctx.steps - selector.offset_ms
    labels: list[Labels] = []
    rows: list[FloatArray] = []
    for series in ctx.data.get(selector, []):
        lo, hi = _windows(series, selector, range_ms, ctx)
        if name in ("rate", "increase", "delta"):
            row = extrapolated(series, lo, hi, ends, range_ms, name != "delta", name == "rate")
        elif name in ("irate", "idelta"):
            row = instant_rate(series, lo, hi, name == "irate")
        elif name in ("resets", "changes"):
            row = over_time(series, lo, hi, name, q)
        else:
            row = over_time(series, lo, hi, name.removesuffix("_over_time"), q)
        if np.isnan(row).all():
            continue
        labels.append(dict(series.labels) if name == "last_over_time" else drop_name(series.labels))
        rows.append(row)
    return Vector(labels, stack(rows, ctx.n))


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
        without = enum(node.modifier.type) == "Without"
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
                kept = top(block, param, op == "topk")
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
                        quantile(float(param[s]), block[present[:, s], s])
                        for s in range(block.shape[1])
                    ]
                )
        out_labels.append(dict(key))
        rows.append(np.where(any_present, row, np.nan))
    return Vector(out_labels, stack(rows, ctx.n))


# -- binary operators ------------------------------------------------------------------------


def _binary(node: Any, ctx: Context) -> Value:
    op = str(node.op)
    mod = node.modifier
    return_bool = bool(mod is not None and mod.return_bool)
    lhs, rhs = _eval(node.lhs, ctx), _eval(node.rhs, ctx)
    if op in ("and", "or", "unless"):
        if not isinstance(lhs, Vector) or not isinstance(rhs, Vector):
            raise BadQuery(f"'{op}' works between two instant vectors")
        return set_op(op, lhs, rhs, mod)
    if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
        if op in COMPARISON and not return_bool:
            raise BadQuery("comparisons between scalars must use bool")
        value, _ = apply_op(op, lhs.values, rhs.values, return_bool)
        return Scalar(value)
    if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
        value, keep = apply_op(op, lhs.values, rhs.values[None, :], return_bool)
        names = lhs.labels if keep is not None else [drop_name(lab) for lab in lhs.labels]
        if keep is not None:
            value = np.where(keep, value, np.nan)
        return nonempty(names, value)
    if isinstance(lhs, Scalar) and isinstance(rhs, Vector):
        value, keep = apply_op(op, lhs.values[None, :], rhs.values, return_bool)
        if keep is not None:
            value = np.where(keep, rhs.values, np.nan)
            return nonempty(rhs.labels, value)
        return nonempty([drop_name(lab) for lab in rhs.labels], value)
    assert isinstance(lhs, Vector) and isinstance(rhs, Vector)
    return vector_op(op, lhs, rhs, mod, return_bool)
