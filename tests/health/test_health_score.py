from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from failcast.health import (
    METRICS,
    HealthConfig,
    ServiceMetrics,
    Threshold,
    load_health_config_yaml,
    metric_score,
    metric_status,
    score_service,
)
from failcast.health.config import MetricName
from failcast.topology import YamlConfigError

LATENCY = METRICS["latency_p99_ms"].default
ACCURACY = METRICS["accuracy"].default


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 100),
        (50, 100),
        (75, 85),
        (100, 70),
        (150, 55),
        (200, 40),
        (600, 20),
        (1000, 0),
        (5e3, 0),
    ],
)
def test_latency_score_is_piecewise_linear_through_the_anchors(
    value: float, expected: float
) -> None:
    assert metric_score("latency_p99_ms", value, LATENCY) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, 100),
        (0.95, 100),
        (0.925, 85),
        (0.90, 70),
        (0.87, 52),
        (0.85, 40),
        (0.775, 20),
        (0.5, 0),
    ],
)
def test_accuracy_score_falls_as_accuracy_drops(value: float, expected: float) -> None:
    assert metric_score("accuracy", value, ACCURACY) == pytest.approx(expected)


def test_status_thresholds_are_inclusive_in_the_worse_direction() -> None:
    assert metric_status("latency_p99_ms", 99.9, LATENCY) == "ok"
    assert metric_status("latency_p99_ms", 100, LATENCY) == "warning"
    assert metric_status("latency_p99_ms", 200, LATENCY) == "critical"
    assert metric_status("accuracy", 0.91, ACCURACY) == "ok"
    assert metric_status("accuracy", 0.90, ACCURACY) == "warning"
    assert metric_status("accuracy", 0.85, ACCURACY) == "critical"
    error = METRICS["error_rate"].default
    assert (error.warning, error.critical) == (0.02, 0.05)


def test_ml_model_renormalises_over_the_components_with_data() -> None:
    health = score_service(
        "ranker", "ml_model", {"accuracy": 0.87, "latency_p99_ms": 150, "error_rate": 0.01}
    )
    # accuracy 52, latency 55, error rate 90 (0.01 is a third of the way to 0.02 from 0.005)
    # weights 25, 20, 20 over 65: (25*52 + 20*55 + 20*90) / 65 = 4200 / 65
    assert health.score == pytest.approx(4200 / 65)
    shares = {c.component: c.share for c in health.components}
    assert shares == pytest.approx({"accuracy": 25 / 65, "latency": 20 / 65, "error_rate": 20 / 65})
    assert sum(c.contribution for c in health.components) == pytest.approx(health.score)
    skipped = {s.component: s.reason for s in health.skipped}
    assert skipped == {
        "resource": "no data",
        "data_quality": "no data",
        "pipeline_reliability": "not used for ml_model",
    }
    assert health.status == "warning"  # 64.6 is in the warning band; no component critical


def test_microservice_ignores_accuracy_and_takes_the_scarcest_resource() -> None:
    health = score_service(
        "api",
        "microservice",
        {"accuracy": 0.1, "latency_p99_ms": 50, "error_rate": 0.0, "cpu_pct": 85, "memory_pct": 40},
    )
    resource = next(c for c in health.components if c.component == "resource")
    assert resource.score == pytest.approx(55.0)  # cpu 85: halfway from 70 to 40
    # latency 100 and error rate 100 weigh 20 each, resource 55 weighs 15: 5825 / 55
    assert health.weighted_mean == pytest.approx((20 * 100 + 20 * 100 + 15 * 55) / 55)
    assert health.status == "warning"  # 87.7 is in the ok band, but cpu 85 is past its warning
    assert health.score == 79.0  # so the score is capped below the ok cut of 80


def test_one_critical_component_makes_the_service_critical() -> None:
    health = score_service("api", "microservice", {"latency_p99_ms": 40, "error_rate": 0.07})
    # error rate 0.07: 40 - 40 * (0.02 / 0.15) = 34.67; (100 + 34.67) / 2
    assert health.weighted_mean == pytest.approx((100 + 40 - 40 * 0.02 / 0.15) / 2)
    assert health.status == "critical"
    assert health.score == 59.0  # 67.3 would read as a warning score
    explained = health.explain()
    assert explained[1].startswith("error_rate: error rate 7.0% -> 34.7; score 34.7 (critical)")
    assert explained[-1] == (
        "api: health 59.0 (critical); weighted mean 67.3, capped at 59 because error_rate is"
        " critical"
    )


@pytest.mark.parametrize(
    ("values", "mean", "status", "score"),
    [
        # latency 79.5 ms: 100 - 30 * 29.5/50 = 82.3, ok
        ({"latency_p99_ms": 79.5}, 82.3, "ok", 82.3),
        # latency 100 ms sits on warning: 70, already in the warning band
        ({"latency_p99_ms": 100}, 70.0, "warning", 70.0),
        # a score of 79.6 is in the warning band, but would read "80": held at 79
        ({"latency_p99_ms": 84.0}, 79.6, "warning", 79.0),
        # latency 140 ms: 58, critical by its band although latency is only past warning
        ({"latency_p99_ms": 140}, 58.0, "critical", 58.0),
    ],
)
def test_score_stays_in_the_band_of_its_status(
    values: dict[str, float], mean: float, status: str, score: float
) -> None:
    health = score_service("api", "microservice", values)
    assert health.weighted_mean == pytest.approx(mean)
    assert (health.status, health.score) == (status, pytest.approx(score))


def test_pipeline_uses_run_success_and_freshness() -> None:
    health = score_service(
        "etl", "data_pipeline", {"run_success_rate": 0.97, "freshness_lag_minutes": 90}
    )
    reliability = health.components[0]
    # success 0.97: 100 - 30 * 0.02 / 0.04 = 85; lag 90: 70 - 30 * 30 / 60 = 55 -> min 55
    assert reliability.component == "pipeline_reliability"
    assert reliability.score == pytest.approx(55.0)
    assert health.score == pytest.approx(55.0)  # the only component with data


def test_no_data_gives_unknown() -> None:
    health = score_service("quiet", "microservice", {})
    assert health.score is None and health.status == "unknown"
    assert health.explain()[-1] == "quiet: health no data (unknown)"


def test_metrics_are_validated() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        ServiceMetrics(error_rate=5.0)
    with pytest.raises(ValidationError, match="finite"):
        ServiceMetrics(latency_p99_ms=float("nan"))
    with pytest.raises(ValidationError, match="Extra inputs"):
        ServiceMetrics.model_validate({"latency": 3})


def test_service_overrides_org_overrides_defaults() -> None:
    config = HealthConfig.model_validate(
        {
            "weights": {"latency": 40},
            "thresholds": {"latency_p99_ms": {"warning": 150, "critical": 300}},
            "services": {
                "search": {
                    "weights": {"error_rate": 0},
                    "thresholds": {"latency_p99_ms": {"critical": 250}},
                }
            },
        }
    )
    search = config.resolve("search")
    assert search.thresholds["latency_p99_ms"] == Threshold(
        healthy=50, warning=150, critical=250, zero=1000
    )
    assert (search.weights["latency"], search.weights["error_rate"]) == (40, 0)
    other = config.resolve("checkout")
    assert other.thresholds["latency_p99_ms"].critical == 300
    assert other.weights["error_rate"] == 20
    health = score_service(
        "search", "microservice", {"latency_p99_ms": 150, "error_rate": 0.5}, config
    )
    # error rate weighs 0 for search, so only latency (70 at its warning) counts.
    assert health.score == pytest.approx(70.0)
    assert {s.component: s.reason for s in health.skipped}["error_rate"] == "weight 0"


CONFIG = """\
version: 1
weights:
  latency: 30
thresholds:
  latency_p99_ms:
    warning: 150
    critical: 300
org:
  critical_penalty: 20
services:
  ranker:
    weights: {accuracy: 50}
    thresholds:
      accuracy:
        warning: 0.88
        critical: 0.8
"""


def _config_error(text: str) -> YamlConfigError:
    with pytest.raises(YamlConfigError) as caught:
        load_health_config_yaml(text)
    return caught.value


def test_config_yaml_loads() -> None:
    config = load_health_config_yaml(CONFIG)
    assert config.org.critical_penalty == 20
    assert config.resolve("ranker").thresholds["accuracy"].warning == 0.88
    assert config.resolve("ranker").weights["accuracy"] == 50


def test_config_yaml_errors_name_line_and_key() -> None:
    error = _config_error(CONFIG.replace("latency: 30", "latncy: 30"))
    assert (error.problems[0].line, error.problems[0].field) == (3, "weights.latncy")
    assert "Input should be 'accuracy', 'latency'" in error.problems[0].msg
    error = _config_error(CONFIG.replace("accuracy: 50", "accuracy: -5"))
    assert (error.problems[0].line, error.problems[0].field) == (
        12,
        "services.ranker.weights.accuracy",
    )
    error = _config_error(CONFIG.replace("critical: 300", "critical: 1500"))
    assert str(error) == (
        "health.yaml: line 5: thresholds.latency_p99_ms: latency_p99_ms: need healthy < warning"
        " < critical < zero (higher is worse);"
        " got healthy 50, warning 150, critical 1500, zero 1000"
    )
    error = _config_error(CONFIG.replace("critical: 0.8", "critical: 0.9"))
    assert (error.problems[0].line, error.problems[0].field) == (
        14,
        "services.ranker.thresholds.accuracy",
    )
    error = _config_error(
        CONFIG.replace("    critical: 300\n", "    critical: 300\n    criticl: 2\n")
    )
    assert (error.problems[0].line, error.problems[0].field) == (
        8,
        "thresholds.latency_p99_ms.criticl",
    )
    error = _config_error(CONFIG.replace("  critical_penalty: 20", "  critical_penalty: lots"))
    assert (error.problems[0].line, error.problems[0].field) == (9, "org.critical_penalty")


def test_all_zero_weights_are_refused() -> None:
    zero = dict.fromkeys(
        ["accuracy", "latency", "error_rate", "resource", "data_quality", "pipeline_reliability"], 0
    )
    with pytest.raises(ValidationError, match="at least one weight"):
        HealthConfig.model_validate({"services": {"x": {"weights": zero}}})


# ------------------------------------------------------------------------------ properties

KIND = st.sampled_from(["microservice", "ml_model", "data_pipeline"])


def _value(metric: MetricName) -> st.SearchStrategy[float]:
    info = METRICS[metric]
    high = info.high if info.high != float("inf") else info.default.zero * 3
    return st.floats(min_value=info.low, max_value=high, allow_nan=False)


METRIC_VALUES = st.fixed_dictionaries({}, optional={name: _value(name) for name in METRICS})


@settings(max_examples=200, deadline=None)
@given(kind=KIND, values=METRIC_VALUES)
def test_health_stays_within_0_and_100(kind: str, values: dict[str, float]) -> None:
    health = score_service("s", kind, values)  # type: ignore[arg-type]
    if health.score is not None:
        assert 0.0 <= health.score <= 100.0
        assert all(0.0 <= c.score <= 100.0 for c in health.components)


@settings(max_examples=300, deadline=None)
@given(kind=KIND, values=METRIC_VALUES)
def test_status_and_score_agree(kind: str, values: dict[str, float]) -> None:
    health = score_service("s", kind, values)  # type: ignore[arg-type]
    if health.score is not None:
        # Read as a whole number, the score lies in the band of the status shown beside it.
        bands = {"ok": range(80, 101), "warning": range(60, 80), "critical": range(60)}
        assert round(health.score) in bands[health.status]


@settings(max_examples=300, deadline=None)
@given(kind=KIND, values=METRIC_VALUES, data=st.data())
def test_health_never_rises_when_one_metric_worsens(
    kind: str, values: dict[str, float], data: st.DataObject
) -> None:
    metric = data.draw(st.sampled_from(sorted(METRICS)))
    info = METRICS[metric]
    before = data.draw(_value(metric))
    after = data.draw(_value(metric))
    if (after < before) == (info.worse == "higher"):
        before, after = after, before  # make `after` the worse value
    better = score_service("s", kind, {**values, metric: before})  # type: ignore[arg-type]
    worse = score_service("s", kind, {**values, metric: after})  # type: ignore[arg-type]
    if better.score is not None and worse.score is not None:
        assert worse.score <= better.score + 1e-9


ANCHORS = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=4, max_size=4, unique=True
).map(sorted)


@settings(max_examples=200, deadline=None)
@given(anchors=ANCHORS, x=st.floats(min_value=-2e6, max_value=2e6), dx=st.floats(0, 1e3))
def test_metric_score_is_monotone_and_continuous(anchors: list[float], x: float, dx: float) -> None:
    healthy, warning, critical, zero = anchors
    assume(min(b - a for a, b in itertools.pairwise(anchors)) >= 1e-3)
    threshold = Threshold(healthy=healthy, warning=warning, critical=critical, zero=zero)
    here = metric_score("latency_p99_ms", x, threshold)
    further = metric_score("latency_p99_ms", x + dx, threshold)
    assert further <= here + 1e-9
    # The steepest segment falls 40 points over its width, so that bounds any jump.
    steepest = max(40 / (b - a) for a, b in itertools.pairwise(anchors))
    assert here - further <= steepest * dx + 1e-6
