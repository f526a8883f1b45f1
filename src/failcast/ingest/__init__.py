"""Intake of metric and log batches: validate everything, then store all of it or none."""
