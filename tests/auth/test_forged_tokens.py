"""No public key signs anything: an unset key is generated per installation, the published
development key is refused where the server can be reached, and access tokens name sessions
by random keys, so a forged token with a guessed session is refused."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from factories import Account, bearer, login, make_settings, register
from fastapi import FastAPI
from typer.testing import CliRunner

from failcast.cli import app as cli
from failcast.config import DEFAULT_SECRET_KEY, SECRET_KEY_FILE, Settings
from failcast.deps import services_of


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # As installed: no FAILCAST_SECRET_KEY, so the key is generated in the data directory.
    return settings.model_copy(update={"secret_key": ""})


def _forge(key: str, account: Account, sid: Any) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(account.user_id),
        "org": account.org_id,
        "sid": sid,
        "iss": "failcast",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=10)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, key, algorithm="HS256")


def test_an_unset_key_is_generated_once_per_data_directory(tmp_path: Path) -> None:
    first = make_settings(data_dir=tmp_path / "a", secret_key="")
    key = first.signing_key
    assert len(key) >= 43 and key != DEFAULT_SECRET_KEY
    path = tmp_path / "a" / SECRET_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Another process on the same data directory reads the same key; another
    # installation has its own.
    assert make_settings(data_dir=tmp_path / "a", secret_key="").signing_key == key
    assert make_settings(data_dir=tmp_path / "b", secret_key="").signing_key != key
    assert [p.name for p in (tmp_path / "a").iterdir()] == [SECRET_KEY_FILE]


def test_production_still_requires_a_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="FAILCAST_SECRET_KEY"):
        Settings(env="production", data_dir=tmp_path, secret_key="")


async def test_tokens_forged_with_the_published_key_or_a_guessed_session_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client, "owner@a.example", "A")
    victim = await register(client, "owner@b.example", "B")
    assert (await client.get("/api/v1/profile", headers=victim.headers)).status_code == 200
    real_sid = jwt.decode(victim.token, options={"verify_signature": False})["sid"]
    own_sid = jwt.decode(owner.token, options={"verify_signature": False})["sid"]
    key = services_of(app).settings.signing_key
    forged = {
        # The attack of the finding: the published key and a counted session id.
        "published key, counted id": _forge(DEFAULT_SECRET_KEY, victim, 2),
        "published key, real session": _forge(DEFAULT_SECRET_KEY, victim, real_sid),
        # Even holding the real key, a session cannot be named by counting or guessing.
        "real key, counted id": _forge(key, victim, 2),
        "real key, guessed key": _forge(key, victim, "A" * 43),
        "real key, another person's session": _forge(key, victim, own_sid),
    }
    for name, token in forged.items():
        response = await client.get("/api/v1/profile", headers=bearer(token))
        assert response.status_code == 401, name
    # Session keys are random, not counted.
    again = (await login(client, "owner@b.example")).json()["access_token"]
    sids = {real_sid, own_sid, jwt.decode(again, options={"verify_signature": False})["sid"]}
    assert len(sids) == 3 and all(isinstance(s, str) and len(s) >= 43 for s in sids)


@pytest.mark.parametrize("command", [["up"], ["api"]])
def test_the_published_key_is_refused_on_a_reachable_address(
    settings: Settings, command: list[str]
) -> None:
    env = {
        "FAILCAST_ENV": "development",
        "FAILCAST_DATA_DIR": str(settings.data_dir),
        "FAILCAST_SECRET_KEY": DEFAULT_SECRET_KEY,
        "FAILCAST_REDIS_URL": "redis://127.0.0.1:1/0",
        "FAILCAST_RUN_MIGRATIONS_ON_START": "false",
    }
    result = CliRunner().invoke(cli, [*command, "--host", "0.0.0.0", "--port", "1"], env=env)
    assert result.exit_code == 2, result.output
    assert "published development key" in result.output


def test_production_refuses_to_trust_every_forwarder(settings: Settings) -> None:
    env = {
        "FAILCAST_ENV": "production",
        "FAILCAST_SECRET_KEY": "k" * 40,
        "FAILCAST_DATA_DIR": str(settings.data_dir),
        "FAILCAST_REDIS_URL": "redis://127.0.0.1:1/0",
        "FAILCAST_RUN_MIGRATIONS_ON_START": "false",
    }
    result = CliRunner().invoke(
        cli, ["api", "--host", "127.0.0.1", "--port", "1", "--forwarded-allow-ips", "*"], env=env
    )
    assert result.exit_code == 2, result.output
    assert "forwarded_allow_ips" in result.output
    with pytest.raises(ValueError, match="FAILCAST_FORWARDED_ALLOW_IPS"):
        Settings(env="production", secret_key="k" * 40, forwarded_allow_ips=["*"])
