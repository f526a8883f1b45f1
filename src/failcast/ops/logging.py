"""Structured JSON logs on stdout. Nothing secret is logged: no headers, no bodies."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _Quiet(logging.Filter):
    """Drops routine lines that would bury what a person needs to see: a socket opening or
    closing, and a dashboard page whose browser left before it answered."""

    ROUTINE = ("connection open", "connection closed", "JavaScript did not respond")
    # uvicorn's line for each accepted socket: `%s - "WebSocket %s" [accepted]`.
    SOCKET_ACCEPTED = '"WebSocket %s" [accepted]'

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return not (text.startswith(self.ROUTINE) or text.endswith(self.SOCKET_ACCEPTED))


def configure_logging(level: str = "INFO", as_json: bool = True, access_log: bool = False) -> None:
    """One handler on stdout; the per-request access log only when `access_log` is on."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    handler.addFilter(_Quiet())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Uvicorn's access log would repeat (without structure) what the request middleware logs.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
    # One line per request (the dashboard's own API calls included) is for operators who ask
    # for it; errors are logged either way, and /metrics counts every request.
    logging.getLogger("failcast.http").setLevel(logging.NOTSET if access_log else logging.WARNING)
    # The dashboard calls the API in-process through httpx, which logs each call at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
