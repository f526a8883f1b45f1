"""Apply and revert schema migrations from code (`failcast db upgrade`, start-up, tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from failcast.config import Settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(settings: Settings, revision: str = "heads") -> None:
    """Upgrade to `revision`; by default every branch's head (domains migrate independently)."""
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.sqlalchemy_url), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings.sqlalchemy_url), revision)


async def upgrade_async(settings: Settings) -> None:
    """Upgrade from inside a running event loop: Alembic's env starts a loop of its own."""
    await asyncio.to_thread(upgrade, settings)
