"""PromQL evaluation on plain arrays: Prometheus' arithmetic for rate, histograms, grouping,
matching, and clear refusals outside the subset."""

from __future__ import annotations

import math

import numpy as np
import pytest

from failcast.promql.engine import evaluate
from failcast.promql.expr import BadQuery, Scalar, Selector, Series, Unsupported, Vector, parse

S = 1000  # ms


def _series(name: str, labels: dict[str, str], values: list[float], every: int = 10) -> Series:
    ts = np.arange(len(values), dtype=np.int64) * every * S
    return Series({"__name__": name, **labels}, ts, np.array(values, dtype=float))


def _run(text: str, data: list[Series], at: list[int]) -> Vector | Scalar:
    query = parse(text)
    by_selector: dict[Selector, list[Series]] = {}
    for selector, _ in query.selectors:
        by_selector[selector] = [s for s in data if selector.matches(s.labels)]
    return evaluate(query, np.array([t * S for t in at], dtype=np.int64), by_selector)


def _by(value: Vector | Scalar, label: str) -> dict[str, list[float]]:
    assert isinstance(value, Vector)
    return {
        lab.get(label, ""): row.tolist()
        for lab, row in zip(value.labels, value.values, strict=True)
    }


def test_instant_selection_takes_the_newest_sample_within_five_minutes() -> None:
    data = [_series("up", {"job": "a"}, [1, 0, 1], every=60)]
    value = _run("up", data, [0, 61, 120, 419, 420])
    [row] = _by(value, "job").values()
    assert row[:4] == [1.0, 0.0, 1.0, 1.0]
    assert math.isnan(row[4])  # exactly five minutes old: gone


def test_rate_extrapolates_and_survives_a_counter_reset() -> None:
    # +10 every 10 s, reset to 0 after 40.
    data = [_series("reqs_total", {"job": "a"}, [0, 10, 20, 30, 40, 0, 10, 20])]
    value = _run("rate(reqs_total[60s])", data, [70])
    [[rate]] = _by(value, "job").values()
    assert rate == pytest.approx(50 / 60)  # 10 -> 40, reset, 0 -> 20: 50 more in 60 s
    increase = _run("increase(reqs_total[25s])", data, [70])
    [[inc]] = _by(increase, "job").values()
    # Samples at 50, 60, 70 (0, 10, 20): a counter at 0 is not extrapolated below zero.
    assert inc == pytest.approx(20.0)
    later = _run("increase(reqs_total[25s])", data, [75])
    [[grown]] = _by(later, "job").values()
    assert grown == pytest.approx(20 * 25 / 20)  # the last sample 5 s before the end: extrapolated


def test_over_time_functions() -> None:
    data = [_series("temp", {"room": "lab"}, [1, 5, 3, 7])]
    for fn, expected in [("avg", 4.0), ("max", 7.0), ("min", 1.0), ("sum", 16.0), ("count", 4.0)]:
        [[got]] = _by(_run(f"{fn}_over_time(temp[30s])", data, [30]), "room").values()
        assert got == expected, fn
    [[q]] = _by(_run("quantile_over_time(0.5, temp[30s])", data, [30]), "room").values()
    assert q == 4.0


def test_aggregation_by_and_without() -> None:
    data = [
        _series("cpu", {"host": "a", "dc": "eu"}, [1.0]),
        _series("cpu", {"host": "b", "dc": "eu"}, [3.0]),
        _series("cpu", {"host": "c", "dc": "us"}, [10.0]),
    ]
    assert _by(_run("sum by (dc) (cpu)", data, [0]), "dc") == {"eu": [4.0], "us": [10.0]}
    assert _by(_run("avg without (host) (cpu)", data, [0]), "dc") == {"eu": [2.0], "us": [10.0]}
    assert _by(_run("count(cpu)", data, [0]), "dc") == {"": [3.0]}
    top = _run("topk(1, cpu)", data, [0])
    assert isinstance(top, Vector) and [lab["host"] for lab in top.labels] == ["c"]


def test_histogram_quantile_interpolates_within_the_bucket() -> None:
    buckets = {"0.1": 50.0, "0.5": 90.0, "1": 100.0, "+Inf": 100.0}
    data = [_series("lat_bucket", {"le": le}, [v]) for le, v in buckets.items()]
    [[median]] = _by(_run("histogram_quantile(0.5, lat_bucket)", data, [0]), "").values()
    assert median == pytest.approx(0.1)
    [[p90]] = _by(_run("histogram_quantile(0.75, lat_bucket)", data, [0]), "").values()
    assert p90 == pytest.approx(0.1 + 0.4 * (75 - 50) / 40)


def test_binary_operators_match_label_sets() -> None:
    data = [
        _series("errors", {"svc": "a"}, [2.0]),
        _series("errors", {"svc": "b"}, [0.0]),
        _series("total", {"svc": "a"}, [10.0]),
        _series("total", {"svc": "b"}, [5.0]),
    ]
    ratio = _by(_run("errors / total", data, [0]), "svc")
    assert ratio == {"a": [0.2], "b": [0.0]}
    assert _by(_run("errors > 1", data, [0]), "svc") == {"a": [2.0]}
    assert _by(_run("errors > bool 1", data, [0]), "svc") == {"a": [1.0], "b": [0.0]}
    assert _by(_run("total and errors > 1", data, [0]), "svc") == {"a": [10.0]}
    scalar = _run("2 * 3 + 1", [], [0])
    assert isinstance(scalar, Scalar) and scalar.values.tolist() == [7.0]


def test_label_replace() -> None:
    data = [_series("up", {"instance": "web-1:9100"}, [1.0])]
    value = _run('label_replace(up, "host", "$1", "instance", "(.*):.*")', data, [0])
    assert isinstance(value, Vector) and value.labels[0]["host"] == "web-1"


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        ("rate(x[5m:1m])", Unsupported, "subqueries"),
        ("x @ 100", Unsupported, "@ modifier"),
        ("predict_linear(x[5m], 60)", Unsupported, "predict_linear"),
        ("sum(", BadQuery, "parse error"),
        ('{job=""}', BadQuery, "non-empty matcher"),
        ('x{a=~"("}', BadQuery, "regex"),
    ],
)
def test_refusals_name_what_is_wrong(text: str, error: type[Exception], says: str) -> None:
    with pytest.raises(error, match=says):
        _run(text, [_series("x", {}, [1.0])], [0])
