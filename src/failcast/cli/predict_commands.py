"""`failcast train`, `failcast backtest` and `failcast models list|promote|rollback`."""

from __future__ import annotations

import asyncio
import getpass
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.chaos.faults import ORGANIC_RATE_PER_DAY
from failcast.chaos.hardness import PLAIN
from failcast.cli._app import app
from failcast.cli._client import fail
from failcast.cli.server import load_settings
from failcast.cli.simulate import Difficulty, Rate, hardness_named
from failcast.db.transactions import session_scope
from failcast.errors import FailcastError
from failcast.predict import registry, repository
from failcast.predict.backtest import BASELINES, BacktestConfig, backtest, grade_rca
from failcast.predict.dataset import build_dataset
from failcast.predict.gate import judge
from failcast.predict.imported import ImportedHistory, load_history
from failcast.predict.labels import DEFAULT_HORIZONS, HOUR_MS, IncidentLike, IncidentRecord
from failcast.predict.simulated import cascade_faults, simulated_history
from failcast.predict.training import TrainConfig
from failcast.predict.training import train as train_model
from failcast.store.remote import open_database
from failcast.timeutil import now_ms, parse_duration_ms

_err = Console(stderr=True, soft_wrap=True)
_out = Console(soft_wrap=True)
T = TypeVar("T")

models_app = typer.Typer(
    help="The failure model registry of an organisation.", no_args_is_help=True
)
app.add_typer(models_app, name="models")

Horizons = Annotated[
    str,
    typer.Option(help="Horizons, comma-separated: hours (1,24) or durations (6h,1d,7d)."),
]
Data = Annotated[
    Path | None,
    typer.Option(
        help="Learn from history in DIR (samples.csv, incidents.csv, topology.json, as"
        " `failcast simulate --out` writes) instead of simulating it.",
        exists=True,
        file_okay=False,
    ),
]
Step = Annotated[
    str, typer.Option(help="Grid step imported history is averaged onto: 5m, 1h, 1d, ...")
]


def _horizons(text: str) -> tuple[int, ...]:
    values = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            hours = int(part) if part.isdigit() else parse_duration_ms(part) / HOUR_MS
        except ValueError:
            fail(f"horizons must be hours or durations separated by commas, got {text!r}", code=2)
        if hours != int(hours):
            fail(f"a horizon must be a whole number of hours, got {part!r}", code=2)
        values.add(int(hours))
    if not values or min(values) < 1:
        fail("give at least one horizon of 1 hour or more", code=2)
    return tuple(sorted(values))


def _records(incidents: Sequence[IncidentLike]) -> list[IncidentRecord]:
    return [
        IncidentRecord(i.service, str(i.type), i.start, i.end, i.root_cause_service)
        for i in incidents
    ]


def _simulated(
    say: Callable[[str], None], days: int, services: int, seed: int, difficulty: str, rate: float
) -> ImportedHistory:
    say(f"simulating {days} days of {services} services")
    hardness = hardness_named(difficulty)
    history = simulated_history(days, services, seed, hardness=hardness, rate_per_day=rate)
    return ImportedHistory(history.fleet, _records(history.incidents))


def _history(data: Path, step: str) -> ImportedHistory:
    try:
        return load_history(data, parse_duration_ms(step))
    except ValueError as exc:
        fail(f"cannot read the history in {data}: {exc}", code=2)


@contextmanager
def _steps(title: str) -> Iterator[Callable[[str], None]]:
    with Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
        console=_err, transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task(title, total=None)
        yield lambda step: progress.update(task, description=f"{title}: {step}")
        progress.update(task, description=f"{title}: done")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.3f}"
    return str(value)


def _interval(bounds: Any) -> str:
    return f" [{_fmt(bounds[0])}, {_fmt(bounds[1])}]" if bounds else ""


def _db_call(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        database = open_database(load_settings())
        try:
            async with session_scope(database) as session:
                return await fn(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except FailcastError as exc:
        fail(str(exc.detail))


# How often a followed training job is asked where it stands, in seconds.
FOLLOW_EVERY_S = 2.0


def train_on_server(url: str | None, api_key: str | None, source: str | None, days: int) -> None:
    """Queue a training through the API and follow its job to the end; exit 1 if it fails."""
    from failcast.cli._api import api

    body: dict[str, Any] = {"days": days} | ({"source": source} if source else {})
    with api(url, api_key) as client, _steps("training on the server") as say:
        accepted = client.call("POST", "/api/v1/models/train", json=body)
        job_id = accepted["job_id"]
        say(f"job {job_id}: {accepted['days']} days from {accepted['source']}")
        while True:
            job = client.call("GET", f"/api/v1/training-jobs/{job_id}")
            if job["state"] in ("succeeded", "failed"):
                break
            time.sleep(FOLLOW_EVERY_S)
    if job["state"] == "failed":
        advice = f"\n{job['advice']}" if job.get("advice") else ""
        fail(f"training job {job_id} failed: {job['reason']}{advice}")
    typer.echo(f"training job {job_id} registered version {job['model_version']}")


@app.command()
def train(
    days: Annotated[int, typer.Option(help="Days of history to learn from.")] = 60,
    services: Annotated[int, typer.Option(help="Simulated fleet size.")] = 12,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    horizons: Horizons = ",".join(str(h) for h in DEFAULT_HORIZONS),
    org: Annotated[
        int | None,
        typer.Option(
            help="Register the model for this organisation (trained on its stored data"
            " unless --data is given)."
        ),
    ] = None,
    data: Data = None,
    step: Step = "5m",
    difficulty: Difficulty = "hard",
    rate: Rate = ORGANIC_RATE_PER_DAY,
    out: Annotated[
        Path | None, typer.Option(help="Write the trained model's artifact to this file.")
    ] = None,
    server: Annotated[
        bool,
        typer.Option(
            "--server",
            help="Train a new version of your organisation's model on the server you signed in"
            " to (`failcast login`), and follow the job until it is done.",
        ),
    ] = False,
    source: Annotated[
        str | None,
        typer.Option(help="With --server: database (stored data) or simulator (its fleet)."),
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="With --server: server URL.")] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="With --server: an API key with read and admin scopes."),
    ] = None,
) -> None:
    """Train the failure model: on simulated history by default, on imported history (--data),
    on your organisation's data through the server (--server), or on an organisation's
    stored data in the local store (--org)."""
    if server:
        train_on_server(url, api_key, source, days)
        return
    config = TrainConfig(horizons=_horizons(horizons))
    imported = _history(data, step) if data is not None else None
    if org is not None:
        with _steps(f"training org {org}"):
            if imported is not None:
                fleet, labels = imported
                row = _db_call(
                    lambda session: registry.train_on_history(
                        session, org, fleet, labels, now_ms(), config=config
                    )
                )
            else:
                row = _db_call(
                    lambda session: registry.train_org(
                        session, org, now_ms(), days=days, config=config
                    )
                )
        typer.echo(
            f"version {row.version} ({row.status}, labels from {row.source}): "
            f"{json.dumps(registry.metrics_summary(row.metrics))}"
        )
        gate = row.meta.get("gate", {})
        if not gate.get("passed", True):
            typer.echo(f"not promoted: {'; '.join(gate.get('reasons', []))}")
        return
    with _steps("training") as say:
        if imported is not None:
            fleet, labels = imported
        else:
            fleet, labels = _simulated(say, days, services, seed, difficulty, rate)
        say("features")
        ds = build_dataset(fleet, labels, config.horizons)
        result = train_model(ds, config, progress=say)
    table = Table(title=f"held-out test split ({len(labels)} incidents in all)")
    for column in ("horizon", "precision", "recall", "f1", "auc_pr", "brier", "event recall",
                   "lead h (median)", "false alarms/day"):  # fmt: skip
        table.add_column(column)
    test = result.metrics.get("test", {})
    for key, m in test.items():
        if key == "type":
            continue
        table.add_row(
            key, *(_fmt(m.get(k)) for k in ("precision", "recall", "f1", "auc_pr", "brier")),
            _fmt(m.get("event_recall")), _fmt(m.get("lead_h_median")),
            _fmt(m.get("false_alarms_per_day")),
        )  # fmt: skip
    _out.print(table)
    kind = test.get("type", {})
    if kind.get("cases"):
        _out.print(
            f"incident type: accuracy {_fmt(kind['accuracy'])} against"
            f' {_fmt(kind["majority_accuracy"])} for always "{result.model.type_model.majority}"'
            f" ({kind['cases']:.0f} rows); sure enough to answer on {kind['answered']:.0%},"
            f" accuracy then {_fmt(kind['answered_accuracy'])}"
        )
    verdict = judge(result.metrics)
    _out.print(
        "promotion gate: "
        + ("passed" if verdict.passed else "failed: " + "; ".join(verdict.reasons))
    )
    _out.print(f"ensemble: {json.dumps(result.model.describe_members())}")
    if out is not None:
        out.write_bytes(result.model.to_bytes())
        _out.print(f"artifact written to {out}")


@app.command("backtest")
def backtest_command(
    data: Data = None,
    step: Step = "5m",
    difficulty: Difficulty = "hard",
    rate: Rate = ORGANIC_RATE_PER_DAY,
    days: Annotated[int, typer.Option(help="Days of simulated history.")] = 60,
    services: Annotated[int, typer.Option(help="Simulated fleet size.")] = 12,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    horizons: Horizons = ",".join(str(h) for h in DEFAULT_HORIZONS),
    initial_days: Annotated[float, typer.Option(help="Days before the first prediction.")] = 28,
    retrain_days: Annotated[float, typer.Option(help="Days between retrainings.")] = 7,
    cascades: Annotated[
        int, typer.Option(help="Chaos cascades in a separate 30-day history for grading RCA.")
    ] = 14,
) -> None:
    """Replay history walk-forward with periodic retraining, against baselines: simulated
    history by default, or imported history (--data)."""
    config = BacktestConfig(
        horizons=_horizons(horizons), initial_days=initial_days, retrain_days=retrain_days
    )
    rca = None
    with _steps("backtest") as say:
        if data is not None:
            fleet, labels = _history(data, step)
        else:
            fleet, labels = _simulated(say, days, services, seed, difficulty, rate)
        say("features")
        ds = build_dataset(fleet, labels, config.horizons)
        result = backtest(ds, config, progress=say)
        if data is None:
            say("root causes")
            # Root causes are graded on plain history: its incidents are recorded on time.
            rca_history = simulated_history(
                30, services, seed + 1, faults=cascade_faults(30, services, seed + 1, cascades),
                hardness=PLAIN,
            )  # fmt: skip
            rca = grade_rca(rca_history.fleet, rca_history.incidents)
    keys = ("auc_pr", "brier_skill", "precision", "recall", "event_precision", "event_recall",
            "false_alarms_per_day", "lead_h_median")  # fmt: skip
    for horizon, methods in result.metrics.items():
        table = Table(
            title=f"{horizon} ahead ({result.folds} folds; 90 % intervals resample incidents)"
        )
        table.add_column("method")
        for k in keys:
            table.add_column(k)
        for name in ("model", *BASELINES):
            if name in methods:
                figures = methods[name]
                ci = figures.get("ci", {})
                table.add_row(name, *(_fmt(figures.get(k)) + _interval(ci.get(k)) for k in keys))
        _out.print(table)
    if rca is not None:
        _out.print(
            f"root cause ({cascades} cascades among 30 days of organic failures): top-1 "
            f"{rca.accuracy:.1%} of {rca.total} incidents, inconclusive "
            f"{rca.inconclusive_share:.1%}"
        )


@models_app.command("list")
def models_list(org: Annotated[int, typer.Option(help="Organisation id.")]) -> None:
    """Every model version of the organisation."""
    rows = _db_call(lambda session: repository.versions(session, org))
    table = Table()
    for column in ("version", "status", "source", "trained on", "members", "24 h figures"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.version), row.status, row.source,
            f"{row.train_start:%Y-%m-%d} .. {row.train_end:%Y-%m-%d}",
            ",".join(row.meta.get("members", [])),
            json.dumps(registry.metrics_summary(row.metrics)),
        )  # fmt: skip
    _out.print(table)


@models_app.command("promote")
def models_promote(
    version: int,
    org: Annotated[int, typer.Option(help="Organisation id.")],
    force: Annotated[
        bool, typer.Option(help="Promote even though VERSION fails the promotion gate.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why the gate is overridden (needed with --force).")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Who forces it, as recorded (default: the login name).")
    ] = None,
) -> None:
    """Make VERSION the active model, if it passes the promotion gate (or with --force)."""
    if force and not reason:
        fail("--force needs --reason: the registry records why the gate was overridden", code=2)
    actor = by or f"cli:{getpass.getuser()}"
    row = _db_call(
        lambda s: registry.promote(
            s, org, version, datetime.now(UTC), force=force, reason=reason, actor=actor
        )
    )
    forced = f" (forced by {row.forced_by}: {row.forced_reason})" if row.forced_by else ""
    typer.echo(f"version {row.version} is active{forced}")


@models_app.command("rollback")
def models_rollback(
    version: int, org: Annotated[int, typer.Option(help="Organisation id.")]
) -> None:
    """Retire the active VERSION and reactivate the one it replaced."""
    row = _db_call(lambda s: registry.rollback(s, org, version, datetime.now(UTC)))
    typer.echo(f"version {row.version} is active again")
