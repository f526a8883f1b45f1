"""The transaction boundary: a request commits before its answer goes out and rolls back on
any error; `session_scope` does the same for other work; after-commit callbacks run only once
their transaction has committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from sqlalchemy import event, select
from starlette.types import Message, Receive, Scope, Send

from failcast.db.engine import Database
from failcast.db.transactions import after_commit, keep_on_error, release, session_scope
from failcast.deps import SessionDep, services_of
from failcast.errors import Conflict, ValidationFailed
from failcast.models import Organization

FAILURES = {
    "conflict": Conflict("taken"),
    "invalid": ValidationFailed([{"field": "slug", "msg": "no"}]),
    "http": HTTPException(status_code=418, detail="no"),
    "crash": RuntimeError("boom"),
}


async def stored(database: Database, slug: str) -> bool:
    async with database.session() as session:
        found = await session.scalar(select(Organization.id).where(Organization.slug == slug))
    return found is not None


def refuse_commit(_session: Any) -> None:
    raise RuntimeError("the store refused the commit")


def add_routes(app: FastAPI, calls: list[str]) -> None:
    router = APIRouter()

    @router.post("/_tx/orgs/{slug}")
    async def create(slug: str, session: SessionDep, fail: str = "") -> dict[str, Any]:
        org = Organization(name=slug, slug=slug)
        session.add(org)
        await session.flush()

        async def committed() -> None:
            calls.append(slug)

        after_commit(session, committed)
        if fail == "commit":
            event.listen(session.sync_session, "before_commit", refuse_commit)
        elif fail:
            raise FAILURES[fail]
        return {"id": org.id}

    app.router.routes[:0] = router.routes


@pytest.fixture
async def tx_client(app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, list[str], list[bool]]]:
    """A client whose transport notes, as each answer starts, whether the row is stored."""
    calls: list[str] = []
    seen_at_start: list[bool] = []
    add_routes(app, calls)

    async def watched(scope: Scope, receive: Receive, send: Send) -> None:
        slug = str(scope.get("path", "")).rsplit("/", 1)[-1]

        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen_at_start.append(await stored(services_of(app).db, slug))
            await send(message)

        await app(scope, receive, watching_send)

    transport = httpx.ASGITransport(app=watched, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, calls, seen_at_start


async def test_a_write_is_committed_before_the_answer_is_sent(
    app: FastAPI, tx_client: tuple[httpx.AsyncClient, list[str], list[bool]]
) -> None:
    client, calls, seen_at_start = tx_client
    response = await client.post("/_tx/orgs/first")
    assert response.status_code == 200, response.text
    # Already stored when the status line went out, so the client's next request sees it.
    assert seen_at_start == [True]
    assert await stored(services_of(app).db, "first")
    assert calls == ["first"]


@pytest.mark.parametrize(
    ("fail", "code"),
    [("conflict", 409), ("invalid", 422), ("http", 418), ("crash", 500), ("commit", 500)],
)
async def test_an_error_after_a_flush_leaves_nothing_stored(
    app: FastAPI,
    tx_client: tuple[httpx.AsyncClient, list[str], list[bool]],
    fail: str,
    code: int,
) -> None:
    client, calls, _ = tx_client
    response = await client.post(f"/_tx/orgs/{fail}-org", params={"fail": fail})
    assert response.status_code == code
    assert not await stored(services_of(app).db, f"{fail}-org")
    # The after-commit callback of a rolled-back transaction never runs.
    assert calls == []


async def test_session_scope_commits_on_success_and_rolls_back_on_error(app: FastAPI) -> None:
    database: Database = services_of(app).db
    calls: list[str] = []

    async def note() -> None:
        calls.append("ran")

    async with session_scope(database) as session:
        session.add(Organization(name="kept", slug="kept"))
        await session.flush()
        after_commit(session, note)
        assert calls == []
    assert await stored(database, "kept")
    assert calls == ["ran"]

    with pytest.raises(RuntimeError):
        async with session_scope(database) as session:
            session.add(Organization(name="gone", slug="gone"))
            await session.flush()
            after_commit(session, note)
            raise RuntimeError("boom")
    assert not await stored(database, "gone")
    assert calls == ["ran"]


async def test_release_commits_mid_way_and_runs_the_callbacks_so_far(app: FastAPI) -> None:
    database: Database = services_of(app).db
    calls: list[str] = []

    async def note() -> None:
        calls.append("released")

    with pytest.raises(RuntimeError):
        async with session_scope(database) as session:
            session.add(Organization(name="chunk", slug="chunk"))
            after_commit(session, note)
            await release(session, "a chunk of a bulk write")
            assert calls == ["released"]
            session.add(Organization(name="later", slug="later"))
            await session.flush()
            raise RuntimeError("a later chunk fails")
    assert await stored(database, "chunk")
    assert not await stored(database, "later")


async def test_keep_on_error_commits_before_the_error_goes_on(app: FastAPI) -> None:
    database: Database = services_of(app).db
    with pytest.raises(Conflict):
        async with session_scope(database) as session:
            session.add(Organization(name="counted", slug="counted"))
            keep_on_error(session)
            raise Conflict("the write stands, the answer is an error")
    assert await stored(database, "counted")
