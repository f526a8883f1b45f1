from __future__ import annotations

import pytest

from failcast.slo import (
    EventsSli,
    RatioSli,
    ThresholdSli,
    import_openslo,
    import_sloth,
    load_slo_yaml,
)
from failcast.topology import YamlConfigError

SLOTH = """\
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Availability of HTTP responses."
    labels:
      category: availability
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="myservice",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      page_alert:
        labels:
          severity: pageteam
      ticket_alert:
        disable: true
  - name: "requests-ratio"
    objective: 99
    sli:
      raw:
        error_ratio_query: job:errors:ratio_rate{{.window}}
"""

OPENSLO = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: good-ratio
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(ok[5m]))
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(all[5m]))
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: web-availability
spec:
  service: web
  indicatorRef: good-ratio
  timeWindow:
    - duration: 4w
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: ok
      target: 0.995
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: ranker-accuracy
spec:
  service: ranker
  indicator:
    metadata:
      name: accuracy
    spec:
      thresholdMetric:
        metricSource:
          type: Failcast
          spec:
            query: model_accuracy
  timeWindow:
    - duration: 30d
  budgetingMethod: Timeslices
  objectives:
    - op: gte
      value: 0.9
      targetPercent: 95
"""


def test_sloth_events_and_raw_slis_map_to_definitions() -> None:
    availability, ratio = import_sloth(SLOTH)
    assert availability.name == "requests-availability" and availability.service == "myservice"
    assert availability.objective == pytest.approx(0.999)
    assert availability.window_days == 30
    assert isinstance(availability.sli, EventsSli)
    assert availability.sli.bad is not None and availability.sli.good is None
    assert availability.sli.bad.source == "prometheus"
    assert availability.sli.bad.query.startswith("sum(rate(http_requests_total{job=")
    assert "{{.window}}" in availability.sli.total.query  # kept verbatim as a reference
    assert availability.labels == {"owner": "myteam", "category": "availability"}
    assert (availability.alerting.page, availability.alerting.ticket) == (True, False)
    assert isinstance(ratio.sli, RatioSli) and ratio.sli.counts == "bad"
    assert ratio.objective == pytest.approx(0.99)
    assert import_sloth(SLOTH, window_days=28)[0].window_days == 28


def _sloth_error(text: str) -> YamlConfigError:
    with pytest.raises(YamlConfigError) as caught:
        import_sloth(text)
    return caught.value


def test_sloth_errors_name_line_and_key() -> None:
    error = _sloth_error(SLOTH.replace("objective: 99.9", "objective: high"))
    assert (error.problems[0].line, error.problems[0].field) == (7, "slos.0.objective")
    error = _sloth_error(SLOTH.replace("error_query:", "eror_query:"))
    fields = {(p.line, p.field) for p in error.problems}
    assert fields == {(13, "slos.0.sli.events.eror_query"), (12, "slos.0.sli.events.error_query")}
    error = _sloth_error(SLOTH.replace('"prometheus/v1"', '"prometheus/v2"'))
    assert str(error).startswith("sloth.yaml: line 1: version: Input should be 'prometheus/v1'")
    error = _sloth_error(
        SLOTH.replace("      raw:\n", "      plugin:\n        id: x\n      raw:\n")
    )
    assert error.problems[0].line == 25
    assert "plugins (x)" in error.problems[0].msg
    error = _sloth_error(SLOTH.replace('"requests-ratio"', '"requests-availability"'))
    assert error.problems[0].line == 22 and "defined twice" in error.problems[0].msg


def test_openslo_ratio_and_threshold_slos() -> None:
    web, ranker = import_openslo(OPENSLO)
    assert (web.name, web.service, web.window_days) == ("web-availability", "web", 28)
    assert web.objective == pytest.approx(0.995)
    assert isinstance(web.sli, EventsSli) and web.sli.good is not None
    assert web.sli.good.query == "sum(rate(ok[5m]))" and web.sli.good.source == "prometheus"
    assert isinstance(ranker.sli, ThresholdSli)
    assert (ranker.sli.op, ranker.sli.value, ranker.objective) == ("gte", 0.9, 0.95)
    assert ranker.sli.metric.query == "model_accuracy"


def _openslo_error(text: str) -> YamlConfigError:
    with pytest.raises(YamlConfigError) as caught:
        import_openslo(text)
    return caught.value


def test_openslo_errors_name_line_and_key() -> None:
    error = _openslo_error(OPENSLO.replace("duration: 4w", "duration: 7d"))
    assert error.problems[0].line == 27
    assert error.problems[0].field == "spec.timeWindow.0.duration"
    assert "7d is not supported: use 28d, 4w, 30d or 1M" in error.problems[0].msg
    error = _openslo_error(OPENSLO.replace("indicatorRef: good-ratio", "indicatorRef: nope"))
    assert (error.problems[0].line, error.problems[0].field) == (25, "spec.indicatorRef")
    error = _openslo_error(OPENSLO.replace("target: 0.995", "target: 99.5"))
    assert (error.problems[0].line, error.problems[0].field) == (32, "spec.objectives.0.target")
    error = _openslo_error(OPENSLO.replace("    - op: gte\n", "    - op: about\n"))
    assert (error.problems[0].line, error.problems[0].field) == (53, "spec.objectives.0.op")
    error = _openslo_error(
        OPENSLO.replace("apiVersion: openslo/v1\nkind: SLO", "apiVersion: openslo/v2\nkind: SLO", 1)
    )
    assert error.problems[0].line == 19
    assert "openslo/v2 is not supported" in error.problems[0].msg


def test_openslo_stream_without_slo_is_refused() -> None:
    with pytest.raises(YamlConfigError, match="no kind: SLO object"):
        import_openslo(OPENSLO.split("---")[0])


def test_native_slo_file() -> None:
    text = """\
slos:
  - name: ranker-drift
    service: ranker
    objective: 0.95
    sli: {type: threshold, metric: {query: drift_share}, op: lte, value: 0.2}
  - name: api-latency
    service: api
    objective: 99
    sli: {type: latency, threshold_ms: 200}
"""
    with pytest.raises(YamlConfigError) as caught:
        load_slo_yaml(text)
    assert str(caught.value) == (
        "slos.yaml: line 8: slos.1.objective: objective is a fraction: write 0.99 for 99%"
    )
    drift, latency = load_slo_yaml(text.replace("objective: 99", "objective: 0.99"))
    assert latency.sli.type == "latency" and drift.sli.type == "threshold"
