"""The one Settings object. This module is the only reader of the environment."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The development key earlier versions shipped. It is public, so it is refused wherever the
# server can be reached from another machine, and always in production.
DEFAULT_SECRET_KEY = "change-me-failcast-development-secret"
DEFAULT_DATA_DIR = Path("failcast-data")
# Without FAILCAST_SECRET_KEY (outside production) the key is generated once and kept here,
# under the data directory, so sessions survive a restart and no two installations share one.
SECRET_KEY_FILE = "secret_key"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


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


def split_list(value: Any) -> Any:
    """A comma-separated (or JSON list) setting as a list; other values unchanged."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


def check_proxies(value: list[str]) -> list[str]:
    """Trusted proxy entries: addresses, networks, or `*` (anyone; refused in production)."""
    for item in value:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"not an address or network: {item!r}") from None
    return value


EMBEDDED_BACKEND = "embedded"
EngineKind = Literal["victoriametrics", "prometheus"]
_ENGINE_SCHEMES: dict[str, tuple[EngineKind, str]] = {
    "victoriametrics": ("victoriametrics", "http"),
    "victoriametrics+https": ("victoriametrics", "https"),
    "prometheus": ("prometheus", "http"),
    "prometheus+https": ("prometheus", "https"),
}
_BACKEND_FORMS = (
    "'embedded', 'victoriametrics://host:8428', "
    "'victoriametrics://vminsert:8480/insert/<tenant>/prometheus?select=vmselect:8481' "
    "or 'prometheus://host:9090[/prefix][?write=/path&read=host:port/prefix&tenant=name]' "
    "(+https after the engine's name for TLS)"
)


@dataclass(frozen=True, slots=True)
class MetricsEngine:
    """A Prometheus-compatible engine holding the samples: where to write and where to read."""

    kind: EngineKind
    # The remote_write endpoint.
    write_url: str
    # The prefix of the HTTP API (`<read_base>/api/v1/query`, `/api/v1/export`, ...).
    read_base: str
    # Mimir's and Cortex's tenant (X-Scope-OrgID), sent with every request; empty: none.
    tenant: str = ""


def parse_metrics_backend(value: str) -> MetricsEngine | None:
    """The engine a `FAILCAST_METRICS_BACKEND` URL names; None for the embedded store.

    A VictoriaMetrics cluster is named by its vminsert address with the tenant's insert path
    (`/insert/<tenant>/prometheus`); reads go to `/select/<tenant>/prometheus` on the same
    host (vmauth, a load balancer) or on the host given as `?select=host:port`. Prometheus
    takes a path prefix used for both writes and reads; `write=` replaces the write path
    (Mimir's `/api/v1/push`, Thanos Receive's `/api/v1/receive`), `read=` names another
    host for queries (Thanos Query) and `tenant=` sets Mimir's X-Scope-OrgID.
    """
    text = value.strip()
    if text in ("", EMBEDDED_BACKEND):
        return None
    parts = urlsplit(text)
    if parts.scheme not in _ENGINE_SCHEMES:
        raise ValueError(f"unknown metrics backend {text!r}: expected {_BACKEND_FORMS}")
    kind, http = _ENGINE_SCHEMES[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in metrics backend {text!r}") from None
    if not parts.hostname or port is None:
        raise ValueError(f"the metrics backend {text!r} needs a host and a port")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    allowed = {"select"} if kind == "victoriametrics" else {"write", "read", "tenant"}
    if unknown := sorted(set(options) - allowed):
        raise ValueError(f"unknown option in metrics backend {text!r}: {unknown}")
    path = parts.path.rstrip("/")
    origin = f"{http}://{parts.netloc}"
    if kind == "prometheus":
        write = options.get("write", f"{path}/api/v1/write")
        read = options.get("read", "")
        if not write.startswith("/"):
            raise ValueError(f"'write' is a path starting with '/', not {write!r}")
        read_base = f"{http}://{read.rstrip('/')}" if read else f"{origin}{path}"
        return MetricsEngine(kind, origin + write, read_base, options.get("tenant", ""))
    if not path:
        if options:
            raise ValueError(f"'select' only goes with a cluster path in {text!r}")
        return MetricsEngine(kind, f"{origin}/api/v1/write", origin)
    segments = path.strip("/").split("/")
    if len(segments) != 3 or segments[0] != "insert" or segments[2] != "prometheus":
        raise ValueError(
            f"a VictoriaMetrics cluster path is /insert/<tenant>/prometheus, not {path!r}"
        )
    tenant = segments[1]
    select = options.get("select", parts.netloc)
    if "/" in select or not select:
        raise ValueError(f"'select' is host:port, not {select!r}")
    return MetricsEngine(
        kind,
        f"{origin}{path}/api/v1/write",
        f"{http}://{select}/select/{tenant}/prometheus",
    )


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
    # Signs tokens and dashboard sessions. Empty: generated on first start (not in production);
    # read it through `signing_key`.
    secret_key: str = ""
    # Comma-separated in the environment: FAILCAST_CORS_ORIGINS=https://a.example,https://b.example
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:8000"]
    )

    host: str = "127.0.0.1"
    port: int = 8000
    # The reverse proxies whose X-Forwarded-For names the client (comma-separated addresses
    # or networks). Anyone else's header is ignored: a client could put anything in it and
    # so escape the per-address sign-in limits and write any address into the audit log.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1"]
    )
    public_url: str = "http://localhost:8000"
    log_level: str = "INFO"
    log_json: bool = True
    # One log line per HTTP request; off, requests are still counted in /metrics.
    access_log: bool = False

    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536

    max_batch_samples: int = 10_000
    # Request bodies: the bulk routes (ingest, remote write, OTLP, imports) take up to
    # max_body_bytes, every other route up to max_request_body_bytes; larger ones are refused
    # before they are parsed.
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_labels: int = 32
    max_label_value_length: int = 256
    max_log_message_length: int = 65_536
    ingest_max_past: timedelta = timedelta(days=90)
    ingest_max_future: timedelta = timedelta(hours=1)
    max_query_points: int = 11_000
    # Series per org, and new series an org may create a minute (per API process): one org
    # inventing label sets must not slow ingest and background work for every other.
    max_series_per_org: int = Field(default=100_000, ge=1)
    max_new_series_per_minute: int = Field(default=10_000, ge=1)
    # Anomaly and change score series that live scoring may create per org: a scored series
    # or service gets one (a change-point detector a second); inputs past it go unscored.
    max_score_series_per_org: int = Field(default=20_000, ge=0)

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
    # How long a SQLite write waits for another writer before answering "busy" (503).
    sqlite_busy_timeout: timedelta = Field(default=timedelta(seconds=5), gt=timedelta(0))
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
    # Where metric samples live: `embedded` (the SQL store above) or a Prometheus-compatible
    # engine's URL (parse_metrics_backend); the catalogue of series stays in the SQL store.
    metrics_backend: str = EMBEDDED_BACKEND
    # A team's own engine (same URL forms) that Failcast reads and never writes: the series
    # matching each org's selectors, JSON {"<org slug>": ["{job=\"node\"}", ...]}, are
    # recorded in the catalogue every `metrics_discovery_seconds` (integrations/sources.py).
    # Samples Failcast itself stores (ingest, scores) stay in the embedded store.
    metrics_source: str = ""
    metrics_source_match: dict[str, list[str]] = Field(default_factory=dict)
    metrics_discovery_seconds: float = Field(default=300.0, gt=0)
    # A closed two-hour window of samples is compacted into chunks this long after it ends;
    # later samples for it are merged in at the next compaction
    chunk_grace: timedelta = timedelta(hours=1)
    compaction_interval_seconds: float = Field(default=300.0, gt=0)
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
    # Networks that notification channels and scrape targets may reach although they are
    # private, loopback or link-local (comma-separated CIDRs); everything else internal is
    # refused, so a user cannot make the server call its database or a metadata service.
    outbound_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.startswith("["):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("outbound_allowed_networks", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("outbound_allowed_networks")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        try:
            return [str(ipaddress.ip_network(item, strict=False)) for item in value]
        except ValueError as exc:
            raise ValueError(f"not a network in CIDR notation: {exc}") from None

    @field_validator("metrics_backend")
    @classmethod
    def _valid_metrics_backend(cls, value: str) -> str:
        parse_metrics_backend(value)
        return value.strip() or EMBEDDED_BACKEND

    @field_validator("metrics_source")
    @classmethod
    def _valid_metrics_source(cls, value: str) -> str:
        if value.strip() and parse_metrics_backend(value) is None:
            raise ValueError("a metrics source is an engine's URL, not 'embedded'")
        return value.strip()

    @model_validator(mode="after")
    def _one_metrics_engine(self) -> Settings:
        if self.metrics_source and self.metrics_engine is not None:
            raise ValueError(
                "FAILCAST_METRICS_SOURCE (read-only) goes with the embedded metrics backend; "
                "with FAILCAST_METRICS_BACKEND set, ingest into that engine instead"
            )
        if self.metrics_source_match and not self.metrics_source:
            raise ValueError("FAILCAST_METRICS_SOURCE_MATCH needs FAILCAST_METRICS_SOURCE")
        return self

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        return check_proxies(value)

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
        if "*" in self.forwarded_allow_ips:
            raise ValueError(
                "FAILCAST_FORWARDED_ALLOW_IPS may not contain '*' when FAILCAST_ENV=production: "
                "name the proxy's address or network"
            )
        return self

    def refusal_to_serve(self, host: str) -> str | None:
        """Why the server must not listen on `host` with these settings, or None."""
        if self.env is Environment.production and "*" in self.forwarded_allow_ips:
            return "forwarded_allow_ips may not be '*' in production: name the proxy"
        if host in LOOPBACK_HOSTS:
            return None
        if self.secret_key == DEFAULT_SECRET_KEY:
            return (
                f"FAILCAST_SECRET_KEY is the published development key; set a random one, "
                f"or leave it unset (one is generated), before listening on {host}"
            )
        return None

    @cached_property
    def signing_key(self) -> str:
        """The key that signs tokens: `secret_key`, or one generated on first use and kept in
        the data directory (outside production, which requires `secret_key`)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # Written whole to a private file, then linked into place: of several processes
            # starting together, one key wins and nobody reads a half-written file.
            draft = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            try:
                with contextlib.suppress(FileExistsError):
                    os.link(draft, path)
            finally:
                draft.unlink()
        key = path.read_text().strip()
        if len(key) < 32:
            raise ValueError(f"{path} holds no usable key; delete it to have one generated")
        return key

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
    def metrics_engine(self) -> MetricsEngine | None:
        """The engine holding metric samples, or None when the SQL store holds them."""
        return parse_metrics_backend(self.metrics_backend)

    @property
    def metrics_source_engine(self) -> MetricsEngine | None:
        """The read-only engine whose series are discovered, if any."""
        return parse_metrics_backend(self.metrics_source) if self.metrics_source else None

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
