"""`failcast train`, `failcast backtest` and `failcast models` from the command line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _predict_synthetic import tiny_model
from factories import make_settings
from typer.testing import CliRunner

from failcast.cli import app
from failcast.db.engine import Database
from failcast.db.migrate import upgrade
from failcast.models import Organization
from failcast.predict import FailureModel, registry

runner = CliRunner()


def test_train_on_simulated_history_reports_test_figures_and_writes_the_artifact(
    tmp_path: Path,
) -> None:
    out = tmp_path / "model.json.gz"
    result = runner.invoke(
        app,
        ["train", "--days", "8", "--services", "3", "--seed", "2", "--horizons", "24",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "held-out test split" in result.output
    assert '"members": ["xgboost"]' in result.output or '"lstm"' in result.output
    model = FailureModel.from_bytes(out.read_bytes())
    assert list(model.horizons) == [24]
    assert "deps_unhealthy" in model.feature_names


def test_bad_horizons_exit_with_a_message() -> None:
    result = runner.invoke(app, ["train", "--horizons", "24,soon"])
    assert result.exit_code == 2
    assert "hours or durations" in result.output
    result = runner.invoke(app, ["train", "--horizons", "90m"])
    assert result.exit_code == 2
    assert "whole number of hours" in result.output


def test_models_list_promote_and_rollback_for_an_org(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(data_dir=tmp_path)
    upgrade(settings)
    for key, value in {"FAILCAST_DATA_DIR": str(tmp_path), "FAILCAST_ENV": "test"}.items():
        monkeypatch.setenv(key, value)

    async def seed() -> None:
        database = Database(settings)
        async with database.session() as session:
            org = Organization(name="Acme", slug="acme")
            session.add(org)
            await session.flush()
            result = tiny_model()
            for _ in range(2):
                await registry.register(
                    session, org.id, result, source="imported", now=datetime.now(UTC)
                )
            await session.commit()
        await database.dispose()

    asyncio.run(seed())
    listed = runner.invoke(app, ["models", "list", "--org", "1"])
    assert listed.exit_code == 0, listed.output
    assert "active" in listed.output and "candidate" in listed.output
    promoted = runner.invoke(app, ["models", "promote", "2", "--org", "1"])
    assert promoted.exit_code == 0 and "version 2 is active" in promoted.output
    back = runner.invoke(app, ["models", "rollback", "2", "--org", "1"])
    assert back.exit_code == 0 and "version 1 is active again" in back.output
    refused = runner.invoke(app, ["models", "rollback", "1", "--org", "1"])
    assert refused.exit_code == 1
    assert "nothing to roll back to" in refused.output
