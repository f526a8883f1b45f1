"""Where a transaction begins and ends.

A request's session (deps.get_session) and every piece of non-request work (tasks, the CLI,
start-up) get their session from `session_scope`: it commits when the block succeeds and rolls
back when it raises. Services and repositories only `flush()`; they never end a transaction.

Work that must see the committed data from elsewhere (a job another worker picks up, an email
naming a row) is registered with `after_commit` and runs once the transaction has committed,
never after a rollback.

`release` is the one place that commits in the middle of a unit of work; see its docstring.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from failcast.db.engine import Database

log = logging.getLogger("failcast.db")

AfterCommit = Callable[[], Awaitable[Any]]
# Callbacks registered in the open transaction, and those whose transaction has committed.
_PENDING = "failcast.after_commit.pending"
_READY = "failcast.after_commit.ready"
_KEEP_ON_ERROR = "failcast.keep_on_error"


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback()` once the session's current transaction has committed; drop it if the
    transaction rolls back. The boundary that commits (`session_scope`, `release`) awaits it."""
    session.info.setdefault(_PENDING, []).append(callback)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending: list[AfterCommit] | None = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_READY, []).extend(pending)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


async def run_after_commit(session: AsyncSession) -> None:
    """Await the callbacks of committed transactions. The data is stored by now: a failing
    callback is logged, and neither undoes the write nor stops the callbacks after it."""
    while ready := session.info.pop(_READY, None):
        for callback in ready:
            try:
                await callback()
            except Exception:
                log.exception("an after-commit callback failed")


def keep_on_error(session: AsyncSession) -> None:
    """Commit the transaction even though the unit of work goes on to raise.

    For the few writes that are the very point of an error answer and must outlive it: the
    failed-login counter and lockout behind a 401, a session revoked because its refresh token
    was reused. Everything else an erroring unit of work wrote is rolled back."""
    session.info[_KEEP_ON_ERROR] = True


@asynccontextmanager
async def session_scope(database: Database) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block succeeds and rolls back when it
    raises (including on cancellation), unless `keep_on_error` was called."""
    async with database.session() as session:
        error: BaseException | None = None
        try:
            yield session
        except BaseException as exc:
            if not session.info.pop(_KEEP_ON_ERROR, False):
                await session.rollback()
                raise
            error = exc
        session.info.pop(_KEEP_ON_ERROR, None)
        await session.commit()
        await run_after_commit(session)
        if error is not None:
            raise error


async def release(session: AsyncSession, reason: str) -> None:
    """Commit what the unit of work has written so far, so the store's write lock is free.

    SQLite has a single writer: while one transaction holds the write lock, every other
    writer (ingest, alert evaluation, the API) waits and, past its busy timeout, fails. So a
    unit of work commits here before CPU-bound work (training a model) and between the chunks
    of a bulk write (ingest batches, remote-write, compaction, rollups, retention pruning)
    rather than holding one transaction around all of it; and after the touch of an API key's
    or a session's last use, so that a request that otherwise only reads (the dashboard's,
    every few seconds) never holds the write lock while it computes its answer. Each chunk is
    self-contained: a later failure leaves the earlier chunks stored, which these callers are
    written to tolerate.
    `reason` says why, for the reader and the debug log. Nothing else commits mid-way.
    """
    log.debug("releasing the write lock", extra={"reason": reason})
    await session.commit()
    await run_after_commit(session)
