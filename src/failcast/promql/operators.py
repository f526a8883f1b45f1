"""PromQL's binary operators on evaluated values: arithmetic and comparisons (with `bool`), vector
matching on label signatures (`on`, `ignoring`, one-to-one and `group_left`/`group_right`),
and the set operators `and`, `or` and `unless`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from failcast.promql.expr import (
    BadQuery,
    FloatArray,
    Labels,
    Unsupported,
    Vector,
    drop_name,
    enum,
    stack,
)
from failcast.store.labels import NAME

ARITHMETIC: dict[str, Callable[[FloatArray, FloatArray], FloatArray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,
    "^": np.power,
}


COMPARISON: dict[str, Callable[[FloatArray, FloatArray], Any]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}


def apply_op(op: str, a: FloatArray, b: FloatArray, return_bool: bool) -> tuple[FloatArray, Any]:
    """(result, keep) of `a op b`; `keep` filters a comparison's left side."""
    with np.errstate(all="ignore"):
        if op in ARITHMETIC:
            return ARITHMETIC[op](a, b), None
        if op in COMPARISON:
            hit = COMPARISON[op](a, b)
            if return_bool:
                return np.where(np.isnan(a) | np.isnan(b), np.nan, hit.astype(np.float64)), None
            return a, hit
    raise Unsupported(f"operator {op} is not supported")


def nonempty(labels: list[Labels], values: FloatArray) -> Vector:
    keep: list[bool] = [bool(not np.isnan(row).all()) for row in values]
    return Vector(
        [lab for lab, k in zip(labels, keep, strict=True) if k],
        values[np.array(keep, dtype=bool)] if len(keep) else values,
    )


def signature(labels: Labels, mod: Any) -> tuple[tuple[str, str], ...]:
    matching = getattr(mod, "matching", None) if mod is not None else None
    if matching is None:
        return tuple(sorted((k, v) for k, v in labels.items() if k != NAME))
    names = set(matching.labels)
    if enum(matching.type) == "Include":  # on(...)
        return tuple(sorted((k, v) for k, v in labels.items() if k in names))
    return tuple(sorted((k, v) for k, v in labels.items() if k not in names and k != NAME))


def vector_op(op: str, lhs: Vector, rhs: Vector, mod: Any, return_bool: bool) -> Vector:
    card = getattr(mod, "card", None) if mod is not None else None
    card_name = enum(card) if card is not None else "OneToOne"
    if card_name == "ManyToMany":
        raise BadQuery(f"operator {op} needs one-to-one or group_left/group_right matching")
    swap = card_name == "OneToMany"  # group_right: the right side is the "many" side
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    index: dict[tuple[tuple[str, str], ...], int] = {}
    for i, labels in enumerate(one.labels):
        key = signature(labels, mod)
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
        key = signature(labels, mod)
        j = index.get(key)
        if j is None:
            continue
        if card_name == "OneToOne":
            if key in seen:
                raise BadQuery("many-to-many matching not allowed: use group_left or group_right")
            seen.add(key)
        a, b = (one.values[j], many.values[i]) if swap else (many.values[i], one.values[j])
        value, keep = apply_op(op, a, b, return_bool)
        if keep is not None:
            value = np.where(keep, a, np.nan)
            result = dict(lhs.labels[j] if swap else labels)
        else:
            result = result_labels(labels, mod, card_name)
        for name in include:
            if name in one.labels[j]:
                result[name] = one.labels[j][name]
        out_labels.append(result)
        rows.append(value)
    return nonempty(out_labels, stack(rows, lhs.values.shape[1] if lhs.values.ndim == 2 else 0))


def result_labels(labels: Labels, mod: Any, card: str) -> Labels:
    """An arithmetic result's labels: one-to-one matching keeps the matched labels (only the
    `on(...)` ones, or all but the `ignoring(...)` ones); otherwise the many side's labels,
    without the metric name."""
    matching = getattr(mod, "matching", None) if mod is not None else None
    if card == "OneToOne" and matching is not None:
        # on(...) keeps only those labels; ignoring(...) drops them.
        return dict(signature(labels, mod))
    return drop_name(labels)


def set_op(op: str, lhs: Vector, rhs: Vector, mod: Any) -> Vector:
    steps = lhs.values.shape[1] if len(lhs.labels) else rhs.values.shape[1]
    right: dict[tuple[tuple[str, str], ...], FloatArray] = {}
    for i, labels in enumerate(rhs.labels):
        key = signature(labels, mod)
        present = ~np.isnan(rhs.values[i])
        right[key] = right.get(key, np.zeros(steps, dtype=bool)) | present
    out_labels: list[Labels] = []
    rows: list[FloatArray] = []
    left_keys: dict[tuple[tuple[str, str], ...], FloatArray] = {}
    for i, labels in enumerate(lhs.labels):
        key = signature(labels, mod)
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
            key = signature(labels, mod)
            taken = left_keys.get(key, np.zeros(steps, dtype=bool))
            out_labels.append(dict(labels))
            rows.append(np.where(taken, np.nan, rhs.values[i]))
    return nonempty(out_labels, stack(rows, steps))
