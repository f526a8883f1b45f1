from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from failcast.cli import app
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.models import User


def _env(settings: Settings) -> dict[str, str]:
    env = {
        "FAILCAST_ENV": "test",
        "FAILCAST_DATA_DIR": str(settings.data_dir),
        "FAILCAST_SECRET_KEY": settings.secret_key,
        "FAILCAST_ARGON2_TIME_COST": "1",
        "FAILCAST_ARGON2_MEMORY_COST": "1024",
    }
    if settings.database_url:
        env["FAILCAST_DATABASE_URL"] = settings.database_url
    return env


def run(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=_env(settings), input=stdin)
    return result.exit_code, result.output


def _user(settings: Settings, email: str) -> Any:
    async def load() -> Any:
        database = Database(settings)
        try:
            async with database.session() as session:
                return await session.scalar(select(User).where(User.email == email))
        finally:
            await database.dispose()

    return asyncio.run(load())


def test_create_an_administrator_with_a_prompted_password(settings: Settings) -> None:
    secret = "orbital tangerine lighthouse"
    code, out = run(
        settings, "user", "create", "Root@Example.com", "--admin", stdin=f"{secret}\n{secret}\n"
    )
    assert code == 0, out
    assert "created platform administrator root@example.com" in out
    assert secret not in out
    user = _user(settings, "root@example.com")
    assert user.is_superuser is True
    assert user.password_hash.startswith("$argon2id$")


def test_promote_and_demote_an_existing_user(settings: Settings) -> None:
    code, out = run(
        settings, "user", "create", "ops@example.com", "--password", "orbital tangerine lighthouse"
    )
    assert code == 0, out
    assert _user(settings, "ops@example.com").is_superuser is False
    assert run(settings, "user", "promote", "OPS@example.com")[0] == 0
    assert _user(settings, "ops@example.com").is_superuser is True
    assert run(settings, "user", "demote", "ops@example.com")[0] == 0
    assert _user(settings, "ops@example.com").is_superuser is False


def test_refusals_are_readable(settings: Settings) -> None:
    code, out = run(settings, "user", "promote", "ghost@example.com")
    assert code == 1
    assert "no user with email ghost@example.com" in out
    code, out = run(settings, "user", "create", "weak@example.com", "--password", "password123456")
    assert code == 1
    assert "password is too common" in out
    assert _user(settings, "weak@example.com") is None


def test_promote_outside_a_data_directory_says_where_it_looked(tmp_path: Any) -> None:
    empty = tmp_path / "elsewhere"
    env = {"FAILCAST_ENV": "test", "FAILCAST_DATA_DIR": str(empty)}
    result = CliRunner().invoke(app, ["user", "promote", "ada@example.com"], env=env)
    assert result.exit_code == 2
    assert f"no Failcast database at {empty.resolve() / 'failcast.db'}" in result.output
    assert "Traceback" not in result.output
    # Nothing is created where it looked.
    assert not empty.exists()
