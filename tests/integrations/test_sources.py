"""A read-only metrics source: a team's own VictoriaMetrics, whose series Failcast discovers
and reads where they are, never writing to it."""

from __future__ import annotations

import time

import httpx
import pytest
from factories import Account, bearer, register
from fastapi import FastAPI
from metrics_engines import VictoriaMetrics, victoria_metrics
from sqlalchemy import func, select

from failcast.config import Settings
from failcast.deps import services_of
from failcast.integrations.sources import catalogue_entry, discover
from failcast.models import Sample

__all__ = ["victoria_metrics"]

MINUTE_MS = 60_000
N = 400
START_MS = (int(time.time()) // 86_400 - 1) * 86_400_000


@pytest.fixture
def settings(settings: Settings, victoria_metrics: VictoriaMetrics) -> Settings:
    return settings.model_copy(
        update={
            "metrics_source": victoria_metrics.backend,
            "metrics_source_match": {"acme": ['{job="node"}', 'up{job="db"}']},
        }
    )


@pytest.fixture(autouse=True)
async def no_timers(app: FastAPI) -> None:
    """The tests discover and score by hand."""
    await services_of(app).runner.stop()


def cpu_values() -> list[float]:
    # A wave with a jump near the end, as in tests/detect/test_live.py.
    import numpy as np

    rng = np.random.default_rng(7)
    t = np.arange(N)
    values = 40 + 8 * np.sin(2 * np.pi * t / 240) + rng.normal(0, 1.0, N)
    values[330:345] += 35
    return [round(float(v), 3) for v in values]


def team_writes(engine: VictoriaMetrics, lines: list[str]) -> None:
    """The team's own pipeline writing to its VictoriaMetrics (not through Failcast)."""
    answer = httpx.post(
        f"{engine.url}/api/v1/import/prometheus", content="\n".join(lines), timeout=10
    )
    answer.raise_for_status()
    engine.flush()


def test_a_source_series_keeps_every_label_and_needs_a_usable_name() -> None:
    assert catalogue_entry({"__name__": "up", "job": "db", "instance": "a:1"}) == (
        "db",
        "up",
        {"job": "db", "instance": "a:1"},
    )
    assert catalogue_entry({"__name__": "up", "service": "api", "job": "j"})[0] == "api"  # type: ignore[index]
    assert catalogue_entry({"__name__": "up"})[0] == "prometheus"  # type: ignore[index]
    assert catalogue_entry({"__name__": "1bad"}) is None
    assert catalogue_entry({"job": "db"}) is None


async def test_discovered_series_are_read_from_the_source_and_scored_like_ingested_ones(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    api_key: str,
    victoria_metrics: VictoriaMetrics,
) -> None:
    values = cpu_values()
    stamps = [START_MS + i * MINUTE_MS for i in range(N)]
    team_writes(
        victoria_metrics,
        [f'cpu_pct{{job="node",instance="a"}} {v} {t}' for v, t in zip(values, stamps, strict=True)]
        + [f'up{{job="db"}} 1 {stamps[-1]}', f'up{{job="other"}} 1 {stamps[-1]}'],
    )
    # The same values ingested through Failcast, into the embedded store, for comparison.
    samples = [
        {"service": "api", "metric": "cpu_pct", "ts": t / 1000, "value": v}
        for v, t in zip(values, stamps, strict=True)
    ]
    response = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key)
    )
    assert response.status_code == 200, response.text

    assert (
        await discover(services_of(app).db, services_of(app).settings, stamps[-1] + MINUTE_MS) == 2
    )
    assert (
        await discover(services_of(app).db, services_of(app).settings, stamps[-1] + MINUTE_MS) == 0
    )
    params = {"metric": "cpu_pct", "service": "node", "start": START_MS / 1000}
    found = (await client.get("/api/v1/metrics", params=params, headers=account.headers)).json()
    [series] = found["series"]
    assert series["labels"] == {"instance": "a", "job": "node"}
    assert [p[1] for p in series["points"]] == values
    stepped = await client.get(
        "/api/v1/metrics", params=params | {"step": "1h", "agg": "max"}, headers=account.headers
    )
    assert [p[1] for p in stepped.json()["series"][0]["points"]][:2] == [
        max(values[:60]),
        max(values[60:120]),
    ]
    ups = await client.get("/api/v1/metrics", params={"metric": "up"}, headers=account.headers)
    assert [s["service"] for s in ups.json()["series"]] == ["db"]

    await services_of(app).live_scoring.run_org(account.org_id, stamps[-1] + MINUTE_MS)

    async def scores(service: str) -> list[list[float]]:
        params = {
            "metric": "anomaly_score",
            "labels": "metric=cpu_pct",
            "service": service,
            "start": START_MS / 1000,
        }
        answer = await client.get("/api/v1/metrics", params=params, headers=account.headers)
        [found] = answer.json()["series"]
        return [point[1] for point in found["points"]]

    from_source = await scores("node")
    assert from_source and from_source == await scores("api")

    # Nothing was written to the team's engine: the scores and the ingested samples are in
    # the embedded store.
    names = {s["metric"]["__name__"] for s in victoria_metrics.export('{__name__=~".+"}')}
    assert names == {"cpu_pct", "up"}
    async with services_of(app).db.session() as session:
        stored = await session.scalar(select(func.count()).select_from(Sample))
    assert stored is not None and stored > N


async def test_another_orgs_selectors_are_its_own(
    app: FastAPI, client: httpx.AsyncClient, account: Account, victoria_metrics: VictoriaMetrics
) -> None:
    other = await register(client, "other@example.com", "Globex")
    team_writes(victoria_metrics, [f'up{{job="db"}} 1 {int(time.time() * 1000) - 60_000}'])
    assert await discover(services_of(app).db, services_of(app).settings) == 1
    for who, expected in [(account, 1), (other, 0)]:
        answer = await client.get("/api/v1/metrics", params={"metric": "up"}, headers=who.headers)
        assert len(answer.json()["series"]) == expected


def test_a_source_goes_with_the_embedded_backend(settings: Settings) -> None:
    with pytest.raises(ValueError, match="goes with the embedded metrics backend"):
        Settings(metrics_source="prometheus://p:9090", metrics_backend="victoriametrics://v:8428")
    with pytest.raises(ValueError, match="needs FAILCAST_METRICS_SOURCE"):
        Settings(metrics_source_match={"acme": ["up"]})
    assert settings.metrics_source_engine is not None
