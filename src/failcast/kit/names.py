"""The shapes of names every part of Failcast accepts: metric and label names as Prometheus
writes them, and service names."""

from __future__ import annotations

NAME_PATTERN = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
SERVICE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
