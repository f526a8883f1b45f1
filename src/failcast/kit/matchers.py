"""Label matchers as Alertmanager writes them: `name="value"`, `name!=value`, `name=~"re"`,
`name!~"re"`. Regular expressions are anchored at both ends, and a missing label matches as
the empty string, exactly like Alertmanager."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_TEXT = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


class MatchOp(StrEnum):
    eq = "="
    ne = "!="
    re = "=~"
    nre = "!~"


@dataclass(frozen=True)
class Matcher:
    """One condition on one label."""

    name: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        if not _LABEL.match(self.name):
            raise ValueError(f"label name {self.name!r} must match [a-zA-Z_][a-zA-Z0-9_]*")
        if self.op in (MatchOp.re, MatchOp.nre):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.value!r}: {exc}") from None

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        return re.compile(self.value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op is MatchOp.eq:
            return actual == self.value
        if self.op is MatchOp.ne:
            return actual != self.value
        hit = self._pattern.fullmatch(actual) is not None
        return hit if self.op is MatchOp.re else not hit

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op.value, "value": self.value}

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op.value}"{escaped}"'


def parse_matcher(raw: Any) -> Matcher:
    """A matcher from `'name=~"re"'` text or a `{"name", "op", "value"}` mapping."""
    if isinstance(raw, Matcher):
        return raw
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"name", "op", "value", "isRegex", "isEqual"}
        if unknown:
            raise ValueError(f"unknown matcher keys: {', '.join(sorted(unknown))}")
        if "name" not in raw or "value" not in raw:
            raise ValueError("a matcher needs a name and a value")
        if "op" in raw:
            op = raw["op"]
        else:
            # The Alertmanager API shape: isRegex / isEqual flags.
            regex, equal = bool(raw.get("isRegex")), bool(raw.get("isEqual", True))
            op = {(False, True): "=", (False, False): "!=", (True, True): "=~"}.get(
                (regex, equal), "!~"
            )
        try:
            match_op = MatchOp(op)
        except ValueError:
            raise ValueError(f"matcher op must be one of =, !=, =~, !~ (got {op!r})") from None
        return Matcher(str(raw["name"]), match_op, str(raw["value"]))
    if not isinstance(raw, str):
        raise ValueError("a matcher is text such as 'severity=\"critical\"' or a mapping")
    found = _TEXT.match(raw)
    if not found:
        raise ValueError(f'not a matcher: {raw!r} (try severity="critical" or service=~"db.*")')
    name, op, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return Matcher(name, MatchOp(op), value)


def parse_matchers(raw: Iterable[Any]) -> list[Matcher]:
    return [parse_matcher(item) for item in raw]


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(matcher.matches(labels) for matcher in matchers)
