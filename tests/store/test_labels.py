"""Label matchers agree with Prometheus' (model/labels/matcher_test.go and the selector rules
of promql/parser)."""

from __future__ import annotations

import pytest

from failcast.store.labels import BadMatcher, Matcher, parse_selector, require_selective


@pytest.mark.parametrize(
    ("op", "pattern", "value", "expected"),
    [
        ("=", "bar", "bar", True),
        ("=", "bar", "foo-bar", False),
        ("!=", "bar", "bar", False),
        ("!=", "bar", "foo-bar", True),
        ("=~", "bar", "bar", True),
        ("=~", "bar", "foo-bar", False),  # anchored at both ends
        ("=~", "foo", "foo-bar", False),
        ("=~", ".*bar", "foo-bar", True),
        ("!~", "bar", "bar", False),
        ("!~", "bar", "foo-bar", True),
        ("!~", ".*bar", "foo-bar", False),
        ("=~", "foo|bar", "foo", True),
        ("=~", "foo|bar", "foobar", False),  # the anchors hold around the alternation
        ("=~", "foo|bar", "xbar", False),
        ("=~", "", "", True),
        ("=~", "", "x", False),
        ("=~", "(?i)FOO", "foo", True),
        ("=~", "a.c", "abc", True),
        ("=~", ".*", "a\nb", False),  # `.` does not match a newline (Prometheus 2.x)
        ("=~", "[0-9]+", "123", True),
        ("=~", "[0-9]+", "123a", False),
    ],
)
def test_matcher_semantics(op: str, pattern: str, value: str, expected: bool) -> None:
    assert Matcher("l", op, pattern).matches(value) is expected


@pytest.mark.parametrize(
    ("op", "value", "matches_empty"),
    [
        ("=", "", True),
        ("=", "x", False),
        ("!=", "", False),
        ("!=", "x", True),
        ("=~", ".*", True),
        ("=~", ".+", False),
        ("=~", "x|", True),
        ("!~", ".*", False),
        ("!~", ".+", True),
        ("!~", "x", True),
    ],
)
def test_an_absent_label_compares_as_empty(op: str, value: str, matches_empty: bool) -> None:
    assert Matcher("l", op, value).matches_empty is matches_empty


def test_a_bad_regular_expression_is_refused_naming_the_matcher() -> None:
    with pytest.raises(BadMatcher, match=r'path=~"/v1/\(".*regular expression'):
        Matcher("path", "=~", "/v1/(")
    with pytest.raises(BadMatcher, match="operator"):
        Matcher("path", "==", "x")


@pytest.mark.parametrize(
    "selector",
    ['{path=""}', '{path=~".*"}', '{path!="x"}', '{path!~"x", code=""}'],
)
def test_a_selector_needs_a_matcher_that_the_empty_string_fails(selector: str) -> None:
    with pytest.raises(BadMatcher, match=r"non-empty matcher|empty string"):
        parse_selector(selector)


def test_require_selective_names_the_selector() -> None:
    with pytest.raises(BadMatcher, match=r'\{path="", code=~".\*"\}'):
        require_selective([Matcher("path", "=", ""), Matcher("code", "=~", ".*")])
    require_selective([Matcher("path", "=", ""), Matcher("code", "=~", ".+")])


def test_parse_selector_reads_promql_syntax() -> None:
    assert parse_selector('http_requests{path=~"/v1/.*", code!="500", x!~"a\\"b"}') == [
        Matcher("__name__", "=", "http_requests"),
        Matcher("path", "=~", "/v1/.*"),
        Matcher("code", "!=", "500"),
        Matcher("x", "!~", 'a"b'),
    ]
    assert parse_selector('{service="api"}') == [Matcher("service", "=", "api")]


@pytest.mark.parametrize(
    "text", ['{path=~"("}', "rate(x[5m])", "x offset 5m", '{a="b" or c="d"}', "{"]
)
def test_parse_selector_refuses_what_is_not_a_series_selector(text: str) -> None:
    with pytest.raises(BadMatcher):
        parse_selector(text)
