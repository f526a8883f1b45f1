"""Exports of metrics, alerts, incidents and predictions as CSV, JSON and Excel, streamed."""
