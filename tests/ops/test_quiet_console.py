"""The server's console keeps to what a person needs: no access lines unless asked for, no
socket chatter, errors always."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from failcast.ops.logging import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("failcast.http", "httpx")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


def _passes(name: str, level: int, msg: str, *args: object) -> bool:
    logger = logging.getLogger(name)
    if not logger.isEnabledFor(level):
        return False
    record = logger.makeRecord(name, level, __file__, 1, msg, args, None)
    return all(f.filter(record) for f in logging.getLogger().handlers[0].filters)


def test_access_lines_and_socket_chatter_are_quiet_by_default(restore_logging: None) -> None:
    configure_logging("INFO", as_json=True)
    assert not _passes("failcast.http", logging.INFO, "request")
    assert _passes("failcast.http", logging.WARNING, "request")
    assert not _passes("httpx", logging.INFO, "HTTP Request: GET http://failcast.internal/x")
    assert not _passes("uvicorn.error", logging.INFO, "connection open")
    accepted = '%s - "WebSocket %s" [accepted]'
    assert not _passes("uvicorn.error", logging.INFO, accepted, "127.0.0.1:1", "/app/ws")
    assert _passes("uvicorn.error", logging.INFO, "Application startup complete.")
    assert _passes("failcast.jobs", logging.ERROR, "task failed")


def test_the_access_log_can_be_turned_on(restore_logging: None) -> None:
    configure_logging("INFO", as_json=True, access_log=True)
    assert _passes("failcast.http", logging.INFO, "request")
