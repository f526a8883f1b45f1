"""Live fan-out of events to subscribers (WebSocket clients, the dashboard)."""
