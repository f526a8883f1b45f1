"""The demo organisation `failcast up --demo` (and so `make run`) prepares: an owner account
with a fresh random password, the simulated fleet switched on, the default alert rules, SLOs
and notification channel (orgs/defaults.py), and a few days of history so charts and models
have something to show from the first minute."""

from __future__ import annotations

import logging
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth.passwords import Passwords
from failcast.chaos.faults import ORGANIC_RATE_PER_DAY
from failcast.chaos.fleet import build_fleet
from failcast.chaos.history import history_matrix
from failcast.chaos.incidents import store_incidents
from failcast.config import Settings
from failcast.db.base import utcnow
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.ingest.schemas import IngestLimits
from failcast.ingest.service import Ingestor
from failcast.ingest.validate import validate_samples
from failcast.models import Membership, Organization, Role, Sample, SampleChunk, Series, User
from failcast.orgs.defaults import ERROR_METRIC, LATENCY_METRIC, apply_defaults, slo_services
from failcast.store.remote import samples_engine
from failcast.timeutil import now_ms

if TYPE_CHECKING:
    from failcast.services import Services

log = logging.getLogger("failcast.demo")

DEMO_EMAIL = "demo@example.com"
DEMO_ORG = "Demo"
HISTORY_STEP_S = 300
BATCH = 10_000
# The runner task that stores days of simulated history for an org (see `backfill_task`).
BACKFILL_TASK = "simulator.backfill"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    password: str
    org_id: int
    created: bool


async def ensure_demo_account(database: Database, passwords: Passwords) -> DemoAccount:
    """Create the demo owner and org, or give the existing owner a new random password."""
    password = secrets.token_urlsafe(12)
    password_hash = await passwords.hash(password)
    async with session_scope(database) as session:
        user = await session.scalar(select(User).where(User.email == DEMO_EMAIL))
        created = user is None
        if user is None:
            user = User(email=DEMO_EMAIL, name="Demo", email_verified_at=utcnow())
            session.add(user)
            org = Organization(name=DEMO_ORG, slug=f"demo-{secrets.token_hex(3)}")
            session.add(org)
            await session.flush()
            session.add(Membership(user_id=user.id, org_id=org.id, role=Role.owner))
            org_id = org.id
        else:
            membership = await session.scalar(
                select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
            )
            if membership is None:
                raise RuntimeError(f"{DEMO_EMAIL} exists but belongs to no organisation")
            org_id = membership.org_id
        user.password_hash = password_hash
        user.is_active = True
        user.failed_logins = 0
        user.locked_until = None
    return DemoAccount(DEMO_EMAIL, password, org_id, created)


async def backfill_history(
    database: Database, ingestor: Ingestor, settings: Settings, org_id: int, days: float
) -> int:
    """Ingest `days` of simulated history for the org's fleet, ending now; returns samples."""
    end = int(time.time()) // HISTORY_STEP_S * HISTORY_STEP_S
    history = history_matrix(
        days,
        settings.simulator_services,
        HISTORY_STEP_S,
        seed=org_id,
        start=end - int(days * 86400),
        organic_rate_per_day=ORGANIC_RATE_PER_DAY if settings.simulator_organic_failures else 0.0,
    )
    matrix = history.matrix
    limits = IngestLimits.from_settings(settings)
    stored = 0
    timestamps = matrix.ts.tolist()
    items = [
        {"service": service, "metric": metric, "ts": ts, "value": float(value)}
        for (service, metric), row in zip(matrix.series, matrix.values, strict=True)
        for ts, value in zip(timestamps, row.tolist(), strict=True)
    ]
    for start in range(0, len(items), BATCH):
        valid, problems = validate_samples(items[start : start + BATCH], limits)
        if problems:
            raise RuntimeError(f"simulated history failed validation: {problems[:3]}")
        async with session_scope(database) as session:
            stored += (await ingestor.ingest_samples(session, org_id, valid)).accepted
        log.info("demo history", extra={"stored": stored, "total": len(items)})
    async with session_scope(database) as session:
        await store_incidents(session, org_id, [i for i in history.incidents if i.start < end])
    return stored


def backfill_task(services: Services) -> Callable[..., Awaitable[int]]:
    """The task behind `BACKFILL_TASK`: store `days` of the org's simulated history."""

    async def backfill(org_id: int, days: float) -> int:
        stored = await backfill_history(
            services.db, services.ingestor, services.settings, org_id, days
        )
        log.info("simulated history stored", extra={"org_id": org_id, "samples": stored})
        return stored

    return backfill


async def has_samples(session: AsyncSession, org_id: int) -> bool:
    if (remote := samples_engine(session)) is not None:
        return (await remote.queries.summary(org_id, None, now_ms())).samples > 0
    series = select(Series.id).where(Series.org_id == org_id)
    found = await session.scalar(select(exists().where(Sample.series_id.in_(series))))
    if not found:
        found = await session.scalar(select(exists().where(SampleChunk.series_id.in_(series))))
    return bool(found)


async def prepare_demo(services: Services) -> DemoAccount:
    """Everything `--demo` promises; prints the sign-in for the person at the terminal."""
    settings = services.settings
    database = services.db
    simulator = services.simulator
    account = await ensure_demo_account(database, services.passwords)
    async with session_scope(database) as session:
        await simulator.set_enabled(session, account.org_id, True)
        empty = not await has_samples(session, account.org_id)
        applied = await apply_defaults(
            session, account.org_id, settings, fleet_slo_services(settings)
        )
    if applied.rules or applied.slos or applied.channels:
        log.info("demo defaults applied", extra=applied.model_dump())
    banner = (
        f"\n  Failcast demo: open {settings.public_url} and sign in as\n"
        f"    {account.email} / {account.password}\n"
        "  (a new random password is set at every start with --demo; it is also in"
        f" {sign_in_file(settings)})\n"
    )
    write_sign_in(settings, banner)
    if settings.demo_history_days > 0 and empty:
        services.runner.register("demo.backfill", _backfill_task(services, account.org_id, banner))
        await services.runner.submit("demo.backfill")
    print(banner, file=sys.stderr, flush=True)
    return account


def sign_in_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-sign-in.txt"


def write_sign_in(settings: Settings, banner: str) -> None:
    """Keep the sign-in beside the database (owner-only), where the console cannot scroll it
    away."""
    path = sign_in_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(banner.strip() + "\n")


def fleet_slo_services(settings: Settings) -> dict[str, set[str]]:
    """The simulated fleet's services that get the default SLOs, with the metrics they report
    (known before the fleet has sent anything)."""
    fleet = build_fleet(settings.simulator_services)
    topology = fleet.topology
    measured = {
        spec.name: set(spec.metrics) & {ERROR_METRIC, LATENCY_METRIC}
        for spec in fleet
        if set(spec.metrics) & {ERROR_METRIC, LATENCY_METRIC}
    }
    entry_points = [name for name in fleet.names if not topology.dependents(name)]
    return {name: measured[name] for name in slo_services(measured, entry_points)}


def _backfill_task(services: Services, org_id: int, banner: str) -> Callable[[], Awaitable[None]]:
    async def backfill() -> None:
        settings = services.settings
        stored = await backfill_history(
            services.db, services.ingestor, settings, org_id, settings.demo_history_days
        )
        log.info("demo history ready", extra={"samples": stored})
        if settings.demo_training_days > 0:
            # The simulator is where labelled failures come from: the demo's model learns from
            # simulated history of the same fleet, then scores it at once.
            jobs = services.prediction_jobs
            await jobs.train(org_id, days=settings.demo_training_days, source="simulator")
            await jobs.score()
            log.info("demo failure model trained")
        # Again once the demo is complete: the start-up lines have scrolled it away by now.
        print(banner.replace("Failcast demo:", "Failcast demo ready:"), file=sys.stderr, flush=True)

    return backfill
