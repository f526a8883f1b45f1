"""Label matchers with Prometheus' semantics, and selectors written in PromQL's syntax.

A matcher compares one label with a value: `=` equal, `!=` not equal, `=~` the regular
expression matches the whole value, `!~` it does not. A series without the label is compared
as if the label were empty, so `path=""` keeps the series that have no `path` and `path!=""`
those that have one. A selector must have a matcher that the empty string does not satisfy:
otherwise it would select every series of every metric.

Regular expressions are matched by Python (`re.fullmatch`), not by Go's RE2 as in Prometheus.
They agree on the syntax selectors use (classes, alternation, repetition, `(?i)`), and `.` does
not match a newline in either (Prometheus 2.x). Selectors written as PromQL text are parsed by
an RE2-like engine first, so look-arounds and back-references are refused there as Prometheus
refuses them; a Matcher built in code accepts whatever Python accepts. Python's engine
backtracks, so a pathological expression costs time per value it is tried on (RE2's cost is
linear); the values tried are a label's distinct values, not its series.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import promql_parser as pp

NAME = "__name__"
OPS = ("=", "!=", "=~", "!~")
_PARSER_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


class BadMatcher(ValueError):
    """A matcher or selector that cannot be used as written; the message names it."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise BadMatcher(f"{self}: the operator must be one of {', '.join(OPS)}")
        if self.op in ("=~", "!~"):
            try:
                regex = re.compile(self.value)
            except re.error as exc:
                raise BadMatcher(f"{self}: invalid regular expression: {exc}") from None
            object.__setattr__(self, "_regex", regex)

    def __str__(self) -> str:
        return f"{self.name}{self.op}{quote(self.value)}"

    def matches(self, value: str) -> bool:
        if self._regex is None:
            return (value == self.value) is (self.op == "=")
        return (self._regex.fullmatch(value) is not None) is (self.op == "=~")

    @property
    def matches_empty(self) -> bool:
        """Whether a series without the label passes."""
        return self.matches("")


def quote(value: str) -> str:
    """A PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def exact(labels: Mapping[str, str]) -> list[Matcher]:
    """`name = value` matchers for a label dict."""
    return [Matcher(name, "=", value) for name, value in labels.items()]


def require_selective(matchers: Iterable[Matcher]) -> None:
    """Refuse a selector every series would satisfy (none of its matchers needs a value)."""
    matchers = list(matchers)
    if not any(not m.matches_empty for m in matchers):
        shown = "{" + ", ".join(map(str, matchers)) + "}"
        raise BadMatcher(
            f"{shown}: a selector needs a metric name or a matcher that does not match the "
            "empty string"
        )


def from_parser(vs: Any) -> list[Matcher]:
    """The matchers of a `promql_parser` vector selector, its metric name first."""
    matchers = [
        Matcher(m.name, _PARSER_OPS[str(m.op).rsplit(".", 1)[-1]], m.value)
        for m in vs.matchers.matchers
    ]
    if vs.name:
        matchers.insert(0, Matcher(NAME, "=", vs.name))
    return matchers


def parse_selector(text: str, *, shown: str | None = None) -> list[Matcher]:
    """The matchers of a PromQL series selector: `{service="api", path=~"/v1/.*"}`, with or
    without a metric name in front. Errors quote `shown` (default: the text)."""
    quoted = repr(text if shown is None else shown)
    try:
        expr: Any = pp.parse(text)
    except (ValueError, RuntimeError) as exc:
        raise BadMatcher(f"{quoted} is not a series selector: {exc}") from None
    if type(expr).__name__ != "VectorSelector":
        raise BadMatcher(f"{quoted} is not a series selector")
    if expr.matchers.or_matchers:
        raise BadMatcher(f"{quoted}: 'or' inside a selector is not supported")
    if expr.offset is not None or getattr(expr, "at", None) is not None:
        raise BadMatcher(f"{quoted}: a series selector takes no offset or @ modifier")
    return from_parser(expr)


def parse_beside_metric(text: str) -> list[Matcher]:
    """The matchers of a selector used beside a metric named elsewhere (a query parameter, a
    rule's field): `{canary=""}` alone is valid there, since the metric narrows."""
    body = text.strip()
    if body.startswith("{"):
        return parse_selector("{" + NAME + '="_",' + body[1:], shown=text)[1:]
    return parse_selector(body)
