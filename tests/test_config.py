from __future__ import annotations

import pytest
from pydantic import ValidationError

from failcast.config import DEFAULT_SECRET_KEY, Settings

STRONG = "x" * 40


def test_defaults_are_embedded_sqlite() -> None:
    settings = Settings(env="development")
    assert settings.sqlalchemy_url == "sqlite+aiosqlite:///failcast-data/failcast.db"
    assert not settings.scale_out


def test_postgres_urls_map_onto_the_async_driver() -> None:
    settings = Settings(database_url="postgresql://u@h:5432/db")
    assert settings.sqlalchemy_url == "postgresql+asyncpg://u@h:5432/db"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"secret_key": DEFAULT_SECRET_KEY}, "FAILCAST_SECRET_KEY"),
        ({"secret_key": "short"}, "FAILCAST_SECRET_KEY"),
        ({"secret_key": STRONG, "cors_origins": ["*"]}, "FAILCAST_CORS_ORIGINS"),
    ],
)
def test_production_refuses_unsafe_settings_and_names_them(
    overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(env="production", **overrides)


def test_production_accepts_safe_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAILCAST_ENV", "production")
    monkeypatch.setenv("FAILCAST_SECRET_KEY", STRONG)
    monkeypatch.setenv("FAILCAST_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
