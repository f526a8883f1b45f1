"""Operating Failcast itself: liveness, readiness, its own metrics and structured logs."""
