"""Metrics from other systems (Prometheus remote_write and scraping, OTLP), ML prediction
events, and Failcast's own results exposed to Prometheus."""
