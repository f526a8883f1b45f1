"""The FastAPI application: routers, error handlers, middleware and the lifespan that owns the
store, the task runner and the live hub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncSession

from failcast import __version__
from failcast.admin.endpoints import router as admin_router
from failcast.alerting.endpoints import router as alerting_router
from failcast.alerting.lifecycle import record_event
from failcast.alerting.tasks import register as register_alerting
from failcast.auth.endpoints import router as accounts_router
from failcast.auth.passwords import Passwords
from failcast.auth.security import install_security
from failcast.billing.endpoints import router as billing_router
from failcast.billing.tasks import install_billing
from failcast.catalog.endpoints import router as services_router
from failcast.chaos.demo import BACKFILL_TASK, backfill_task, prepare_demo
from failcast.chaos.endpoints import router as chaos_router
from failcast.chaos.incidents import store_incidents
from failcast.chaos.runtime import Simulator
from failcast.chaos.topology import fleet_topology
from failcast.config import Settings
from failcast.db.migrate import upgrade_async
from failcast.detect.endpoints import router as detect_router
from failcast.detect.tasks import install_detection
from failcast.egress import EgressPolicy
from failcast.errors import install_error_handlers
from failcast.exports.endpoints import router as exports_router
from failcast.health.endpoints import router as health_router
from failcast.health.live import service_statuses
from failcast.health.topology_endpoints import router as topology_router
from failcast.ingest.endpoints import router as ingest_router
from failcast.ingest.limits import SeriesBudget, SeriesLimits
from failcast.ingest.service import Ingestor
from failcast.integrations.alertmanager import router as alertmanager_router
from failcast.integrations.endpoints import router as integrations_router
from failcast.integrations.state import install as install_integrations
from failcast.jobs.arq_runner import runner_for
from failcast.jobs.maintenance import install_store_jobs
from failcast.jobs.runner import attach_events
from failcast.live.endpoints import router as live_router
from failcast.live.events import LivePublisher
from failcast.live.redis_hub import hub_for
from failcast.notify.endpoints import router as notify_router
from failcast.notify.notifier import Notifier
from failcast.openapi import install_openapi
from failcast.ops.body_limit import BodyLimit
from failcast.ops.docs import install_docs
from failcast.ops.endpoints import router as ops_router
from failcast.ops.middleware import RequestTelemetry
from failcast.ops.telemetry import Telemetry
from failcast.orgs.endpoints import router as orgs_router
from failcast.predict.endpoints import router as predict_router
from failcast.predict.tasks import install_prediction
from failcast.predict.training_jobs import router as training_jobs_router
from failcast.promql.endpoints import router as promql_router
from failcast.query.endpoints import router as query_router
from failcast.rca.endpoints import router as rca_router
from failcast.reports.endpoints import router as reports_router
from failcast.reports.tasks import install_reports
from failcast.signals import SignalRegistry
from failcast.slo.endpoints import router as slo_router
from failcast.slo.signals import SloBurnSignals
from failcast.store.remote import open_database
from failcast.teams.endpoints import router as teams_router
from failcast.topology.graph import DependencyGraph
from failcast.topology.schemas import TopologySpec
from failcast.topology.service import org_graph

# Every API router, in the order they appear in the OpenAPI document.
ROUTERS = [
    ops_router,
    accounts_router,
    orgs_router,
    teams_router,
    admin_router,
    ingest_router,
    query_router,
    services_router,
    alerting_router,
    notify_router,
    integrations_router,
    alertmanager_router,
    chaos_router,
    live_router,
    predict_router,
    training_jobs_router,
    rca_router,
    detect_router,
    promql_router,
    health_router,
    topology_router,
    slo_router,
    billing_router,
    exports_router,
    reports_router,
]

DESCRIPTION = """
Failcast predicts failures of services, ML models and data pipelines before they happen.

Authenticate with `Authorization: Bearer <token>`: an access token from `POST /api/v1/login`,
or an API key (`fc_...`). Errors share one shape: `{"error": "<Name>", "detail": ...}`; a
validation error's detail lists `{"index", "field", "msg"}` for every problem.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations_on_start:
            await upgrade_async(settings)
        await app.state.runner.start()
        if settings.demo:
            await prepare_demo(app)
        try:
            yield
        finally:
            await app.state.runner.stop()
            await app.state.live.close()
            await app.state.hub.close()
            await app.state.security.close()
            await app.state.db.dispose()

    app = FastAPI(
        title="Failcast",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = open_database(settings)
    app.state.passwords = Passwords(settings)
    app.state.ingestor = Ingestor(budget=SeriesBudget(SeriesLimits.from_settings(settings)))
    app.state.runner = runner_for(settings)
    app.state.hub = hub_for(settings)
    # Committed alerts, predictions, ingests and health changes go to the orgs' live streams.
    app.state.live = LivePublisher(app.state.db, app.state.hub, read_health=service_statuses)
    app.state.live.install()
    app.state.telemetry = Telemetry()
    app.state.alert_signals = SignalRegistry()
    app.state.egress = EgressPolicy.from_settings(settings)

    # The org's one dependency graph (declared, simulated and label-discovered edges), which
    # inhibition reads wherever it runs; the simulator is looked up when the graph is needed.
    def simulated_topology(org_id: int) -> TopologySpec:
        return fleet_topology(app.state.simulator.new_fleet(org_id).spec)

    app.state.simulated_topology = simulated_topology

    def org_topology(session: AsyncSession, org_id: int) -> Awaitable[DependencyGraph]:
        return org_graph(session, org_id, app.state.simulated_topology)

    app.state.topology = org_topology
    app.state.notifier = Notifier(
        app.state.db,
        external_url=settings.public_url,
        egress=app.state.egress,
        timeline=record_event,
    )
    app.state.alert_signals.register("slo_burn", SloBurnSignals())
    register_alerting(
        app.state.runner,
        app.state.db,
        app.state.alert_signals,
        app.state.notifier,
        topology=org_topology,
    )
    app.state.simulator = Simulator(
        app.state.db, app.state.ingestor, app.state.hub, settings, incident_sink=store_incidents
    )
    app.state.runner.register("simulator.tick", app.state.simulator.tick)
    app.state.runner.register(BACKFILL_TASK, backfill_task(app))
    app.state.runner.every(settings.simulator_tick_seconds, "simulator.tick")
    install_security(app, settings)
    install_integrations(app)
    install_prediction(app)
    install_store_jobs(app)
    install_detection(app)
    install_billing(app)
    install_reports(app)
    attach_events(app.state.runner, app.state.telemetry)

    install_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        default_bytes=settings.max_request_body_bytes,
        bulk_bytes=settings.max_body_bytes,
    )
    app.add_middleware(RequestTelemetry)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    for router in ROUTERS:
        app.include_router(router)
    install_docs(app)
    install_openapi(app)
    if settings.dashboard_enabled:
        # Imported here: NiceGUI takes a second to import and API-only processes never need it.
        from failcast.ui import mount_dashboard

        mount_dashboard(app, settings)
    return app
