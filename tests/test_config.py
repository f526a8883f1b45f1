from __future__ import annotations

import pytest
from pydantic import ValidationError

from failcast.config import DEFAULT_SECRET_KEY, MetricsEngine, Settings, parse_metrics_backend

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


def test_the_metrics_backend_names_an_engine_or_the_embedded_store() -> None:
    assert Settings().metrics_engine is None
    single = Settings(metrics_backend="victoriametrics://vm:8428").metrics_engine
    assert single == MetricsEngine(
        "victoriametrics", "http://vm:8428/api/v1/write", "http://vm:8428"
    )
    cluster = Settings(
        metrics_backend="victoriametrics://vminsert:8480/insert/7/prometheus?select=vmselect:8481"
    ).metrics_engine
    assert cluster == MetricsEngine(
        "victoriametrics",
        "http://vminsert:8480/insert/7/prometheus/api/v1/write",
        "http://vmselect:8481/select/7/prometheus",
    )
    behind_vmauth = parse_metrics_backend("victoriametrics+https://vm:443/insert/0/prometheus")
    assert behind_vmauth is not None
    assert behind_vmauth.read_base == "https://vm:443/select/0/prometheus"
    prometheus = parse_metrics_backend("prometheus://prom:9090")
    assert prometheus == MetricsEngine(
        "prometheus", "http://prom:9090/api/v1/write", "http://prom:9090"
    )
    mimir = parse_metrics_backend("prometheus://mimir:8080/prometheus?write=/api/v1/push&tenant=a")
    assert mimir == MetricsEngine(
        "prometheus", "http://mimir:8080/api/v1/push", "http://mimir:8080/prometheus", "a"
    )
    thanos = parse_metrics_backend("prometheus://receive:19291?write=/api/v1/receive&read=q:10902")
    assert thanos == MetricsEngine(
        "prometheus", "http://receive:19291/api/v1/receive", "http://q:10902"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("influxdb://db:8086", "unknown metrics backend"),
        ("victoriametrics://vm", "needs a host and a port"),
        ("victoriametrics://vm:8428/select/0/prometheus", "cluster path is /insert/<tenant>"),
        ("victoriametrics://vm:8428?select=other:1", "only goes with a cluster path"),
        ("prometheus://p:9090?select=q:1", "unknown option"),
        ("prometheus://p:9090?write=api/v1/push", "a path starting with '/'"),
    ],
)
def test_a_bad_metrics_backend_is_refused_with_the_reason(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(metrics_backend=value)
