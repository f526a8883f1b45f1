from __future__ import annotations

import asyncio
from pathlib import Path

from factories import make_settings, started
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from failcast.config import Settings
from failcast.db.migrate import downgrade, upgrade


async def _tables(settings: Settings) -> set[str]:
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


EXPECTED = {
    "organization",
    "user_account",
    "membership",
    "api_key",
    "service",
    "series",
    "sample",
    "log_entry",
}


def test_empty_database_migrates_to_head_and_back_down(settings: Settings, tmp_path: Path) -> None:
    fresh = make_settings(data_dir=tmp_path / "fresh") if settings.is_sqlite else settings
    if settings.is_sqlite:
        fresh.data_dir.mkdir()
    else:
        downgrade(fresh, "base")
    assert asyncio.run(_tables(fresh)) == set()
    upgrade(fresh)
    assert asyncio.run(_tables(fresh)) >= EXPECTED
    downgrade(fresh, "base")
    assert asyncio.run(_tables(fresh)) == set()
    upgrade(fresh)
    assert asyncio.run(_tables(fresh)) >= EXPECTED


def test_models_and_migrations_agree(settings: Settings) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import failcast.models  # noqa: F401
    from failcast.db.base import Base

    async def diff() -> list[object]:
        engine = create_async_engine(settings.sqlalchemy_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
                )
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []


async def test_the_server_migrates_an_empty_database_at_start(tmp_path: Path) -> None:
    import httpx

    from failcast.app import create_app

    settings = make_settings(data_dir=tmp_path / "new", run_migrations_on_start=True)
    app = create_app(settings)
    async with started(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/ready")).status_code == 200
    assert (tmp_path / "new" / "failcast.db").exists()
