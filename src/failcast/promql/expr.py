"""A PromQL query as Failcast evaluates it: the parsed expression (by promql-parser), the series
selectors it reads with the range each needs, and the values it yields (instant vectors and
scalars over the evaluation steps)."""

from __future__ import annotations

from collections.abc import Iterator
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


def enum(value: Any) -> str:
    """The member name of one of the parser's enums (`MatchOp.Re` -> `Re`)."""
    return str(value).rsplit(".", 1)[-1]


def duration_ms(value: Any) -> int:
    return round(float(value.total_seconds()) * 1000)


def selector_of(vs: Any) -> Selector:
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
    offset = duration_ms(vs.offset) if vs.offset is not None else 0
    return Selector(tuple(matchers), offset)


def parse(text: str) -> Query:
    """Parse a PromQL expression and list its selectors; BadQuery or Unsupported on failure."""
    try:
        expr = pp.parse(text)
    except (ValueError, RuntimeError) as exc:
        raise BadQuery(f"parse error: {exc}") from None
    query = Query(expr)
    for node, range_ms in walk(expr, 0):
        query.selectors.append((selector_of(node), range_ms))
    return query


def walk(node: Any, range_ms: int) -> Iterator[tuple[Any, int]]:
    kind = type(node).__name__
    if kind == "VectorSelector":
        yield node, range_ms
    elif kind == "MatrixSelector":
        yield node.vector_selector, duration_ms(node.range)
    elif kind == "SubqueryExpr":
        raise Unsupported("subqueries are not supported")
    elif kind in ("ParenExpr", "UnaryExpr"):
        yield from walk(node.expr, range_ms)
    elif kind == "AggregateExpr":
        if node.param is not None:
            yield from walk(node.param, 0)
        yield from walk(node.expr, 0)
    elif kind == "BinaryExpr":
        yield from walk(node.lhs, 0)
        yield from walk(node.rhs, 0)
    elif kind == "Call":
        for arg in node.args:
            yield from walk(arg, 0)
    elif kind not in ("NumberLiteral", "StringLiteral"):
        raise Unsupported(f"{kind} is not supported")


def drop_name(labels: Labels) -> Labels:
    return {k: v for k, v in labels.items() if k != NAME}


def stack(rows: list[FloatArray], n: int) -> FloatArray:
    return np.vstack(rows) if rows else np.empty((0, n))
