"""A Prometheus-compatible query API over the org's stored series, so that Grafana's Prometheus
datasource and PromQL-speaking tools read Failcast as they read Prometheus."""
