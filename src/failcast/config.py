"""The one Settings object. This module is the only reader of the environment."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-failcast-development-secret"
DEFAULT_DATA_DIR = Path("failcast-data")


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


def normalise_database_url(url: str) -> str:
    """Map plain `postgresql://` and `sqlite:///` URLs onto the async drivers Failcast uses."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


# accounts and security
class OidcProvider(BaseModel):
    """An identity provider whose ID tokens sign people in (Firebase, Google, Auth0, Keycloak)."""

    name: str
    issuer: str
    audience: str
    jwks_url: str
    algorithms: list[str] = Field(default_factory=lambda: ["RS256"])


class Settings(BaseSettings):
    """Server settings, read from `FAILCAST_*` variables and an optional `.env` file."""

    model_config = SettingsConfigDict(env_prefix="FAILCAST_", env_file=".env", extra="ignore")

    env: Environment = Environment.development
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = DEFAULT_SECRET_KEY
    # Comma-separated in the environment: FAILCAST_CORS_ORIGINS=https://a.example,https://b.example
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:8000"]
    )

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://localhost:8000"
    log_level: str = "INFO"
    log_json: bool = True

    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536

    max_batch_samples: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    max_labels: int = 32
    max_label_value_length: int = 256
    max_log_message_length: int = 65_536
    ingest_max_past: timedelta = timedelta(days=90)
    ingest_max_future: timedelta = timedelta(hours=1)
    max_query_points: int = 11_000

    # Periodic background jobs (simulator ticks, scoring, evaluation, rollups) on timers;
    # off, only explicitly submitted tasks run.
    periodic_jobs: bool = True

    # the simulated fleet
    simulator_services: int | None = Field(default=None, ge=1, le=200)
    simulator_organic_failures: bool = True
    simulator_tick_seconds: float = Field(default=2.0, gt=0)
    demo: bool = False
    demo_history_days: float = Field(default=3.0, ge=0, le=30)
    # The demo's failure model learns from this many days of simulated history (0: none).
    demo_training_days: int = Field(default=30, ge=0, le=120)

    sqlite_synchronous: str = "FULL"
    run_migrations_on_start: bool = True

    # scale-out: Redis keys and pub/sub channels carry this prefix (pub/sub ignores the DB
    # number, so two deployments sharing one Redis need different prefixes)
    redis_prefix: str = "failcast:"
    worker_concurrency: int = Field(default=10, ge=1)
    # A job killed with its worker is retried this long (plus 10 s) after it started.
    worker_job_timeout: float = Field(default=300.0, gt=0)
    scheduler_lock_ttl: float = Field(default=10.0, gt=0)
    # the store: raw samples are kept this long (whole daily partitions on PostgreSQL),
    # hourly rollups longer
    sample_retention: timedelta = timedelta(days=90)
    rollup_retention: timedelta = timedelta(days=730)
    partition_days_ahead: int = Field(default=3, ge=1)
    rollup_interval_seconds: float = Field(default=60.0, gt=0)
    # The web dashboard at /app; API-only deployments and API tests turn it off.
    dashboard_enabled: bool = True

    # billing and reports
    # Off by default: a self-hosted installation has no plans; a hosted one turns quotas on.
    billing_enabled: bool = False
    stripe_api_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_api_base: str = "https://api.stripe.com"
    stripe_price_starter: str = ""
    stripe_price_professional: str = ""
    stripe_price_enterprise: str = ""
    billing_grace_period: timedelta = timedelta(days=7)
    retention_batch_size: int = Field(default=10_000, ge=1)
    # Weekly reliability reports go out on this weekday (0 = Monday) at this hour, UTC.
    report_weekday: int = Field(default=0, ge=0, le=6)
    report_hour: int = Field(default=6, ge=0, le=23)

    # accounts and security
    session_max_age: timedelta = timedelta(days=90)
    lockout_threshold: int = 5
    lockout_ip_threshold: int = 50
    lockout_duration: timedelta = timedelta(minutes=15)
    auth_rate_limit: int = 30
    auth_rate_window: timedelta = timedelta(minutes=1)
    email_verification_ttl: timedelta = timedelta(days=2)
    password_reset_ttl: timedelta = timedelta(hours=1)
    invitation_ttl: timedelta = timedelta(days=7)
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = "Failcast <no-reply@localhost>"
    smtp_starttls: bool = True
    smtp_timeout: float = 10.0
    # JSON in the environment: FAILCAST_OIDC_PROVIDERS='[{"name": "google", "issuer": ...}]'
    oidc_providers: list[OidcProvider] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.startswith("["):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env is not Environment.production:
            return self
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            raise ValueError(
                "FAILCAST_SECRET_KEY must be set to a random value of at least 32 characters "
                "when FAILCAST_ENV=production"
            )
        if "*" in self.cors_origins:
            raise ValueError(
                "FAILCAST_CORS_ORIGINS may not contain '*' when FAILCAST_ENV=production"
            )
        return self

    @cached_property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL of the store, SQLite under `data_dir` unless one is given."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'failcast.db').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def scale_out(self) -> bool:
        """Scale-out mode: Redis carries tasks and the live stream between processes."""
        return bool(self.redis_url)


class ClientSettings(BaseSettings):
    """Where the CLI finds the server: options, then `FAILCAST_URL`/`FAILCAST_API_KEY`, then
    the config file (`~/.config/failcast/config.toml` by default)."""

    model_config = SettingsConfigDict(env_prefix="FAILCAST_", extra="ignore")

    url: str = "http://localhost:8000"
    api_key: str = ""
    config_file: Path = Field(
        default_factory=lambda: Path.home() / ".config" / "failcast" / "config.toml"
    )

    def with_file(self) -> ClientSettings:
        """Fill what the environment left unset from the config file, if there is one."""
        if not self.config_file.is_file():
            return self
        data = tomllib.loads(self.config_file.read_text())
        updates = {k: v for k, v in data.items() if k in ("url", "api_key")}
        updates = {k: v for k, v in updates.items() if k not in self.model_fields_set}
        return self.model_copy(update=updates)


def get_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
