"""The FastAPI application: routers, error handlers, middleware and the lifespan that starts
and closes the services' container (services.py), which the app keeps through deps.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from failcast import __version__
from failcast.admin.endpoints import router as admin_router
from failcast.alerting.endpoints import router as alerting_router
from failcast.auth.endpoints import router as accounts_router
from failcast.billing.endpoints import router as billing_router
from failcast.billing.quotas import QuotaMiddleware
from failcast.catalog.endpoints import router as services_router
from failcast.chaos.demo import prepare_demo
from failcast.chaos.endpoints import router as chaos_router
from failcast.config import Settings
from failcast.db.migrate import upgrade_async
from failcast.deps import install_services
from failcast.detect.endpoints import router as detect_router
from failcast.errors import install_error_handlers
from failcast.exports.endpoints import router as exports_router
from failcast.health.endpoints import router as health_router
from failcast.health.topology_endpoints import router as topology_router
from failcast.ingest.endpoints import router as ingest_router
from failcast.integrations.alertmanager import router as alertmanager_router
from failcast.integrations.endpoints import router as integrations_router
from failcast.live.endpoints import router as live_router
from failcast.notify.endpoints import router as notify_router
from failcast.openapi import install_openapi
from failcast.ops.body_limit import BodyLimit
from failcast.ops.docs import install_docs
from failcast.ops.endpoints import router as ops_router
from failcast.ops.middleware import RequestTelemetry
from failcast.orgs.endpoints import router as orgs_router
from failcast.predict.endpoints import router as predict_router
from failcast.predict.training_jobs import router as training_jobs_router
from failcast.promql.endpoints import router as promql_router
from failcast.query.endpoints import router as query_router
from failcast.rca.endpoints import router as rca_router
from failcast.reports.endpoints import router as reports_router
from failcast.services import build_services
from failcast.slo.endpoints import router as slo_router
from failcast.teams.endpoints import router as teams_router

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
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations_on_start:
            await upgrade_async(settings)
        await services.runner.start()
        if settings.demo:
            await prepare_demo(services)
        try:
            yield
        finally:
            await services.aclose()

    app = FastAPI(
        title="Failcast",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_services(app, services)
    if settings.billing_enabled:
        app.add_middleware(QuotaMiddleware, quotas=services.billing.quotas, settings=settings)

    install_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        default_bytes=settings.max_request_body_bytes,
        bulk_bytes=settings.max_body_bytes,
    )
    app.add_middleware(RequestTelemetry, telemetry=services.telemetry)
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
