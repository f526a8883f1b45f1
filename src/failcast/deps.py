"""`Annotated` dependency aliases, declared once and used by every router.

With services.py this is the composition root: services.py builds the `Services` container,
and this module is the one place that knows it lives on the app (`install_services` keeps it
there, `services_of` and `get_services` read it). Endpoints ask for a piece by its alias
(`IngestorDep`, `NotifierDep`, ...); HTTP and WebSocket endpoints alike, since the accessors
take an `HTTPConnection`.

The domains' types are imported for type checking only: the domains' endpoints import this
module, and services.py imports the domains, so a run-time import either way would be a cycle
between packages (docs/decisions.md). At run time FastAPI needs only the `Depends` of an alias.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from failcast.config import Settings
from failcast.db.cursors import MAX_ROW_ID
from failcast.db.engine import Database
from failcast.db.transactions import session_scope

if TYPE_CHECKING:
    from failcast.auth.passwords import Passwords
    from failcast.chaos.runtime import Simulator
    from failcast.egress import EgressPolicy
    from failcast.ingest.service import Ingestor
    from failcast.integrations.exporters import ExporterRegistry
    from failcast.integrations.state import Integrations
    from failcast.jobs.runner import TaskRunner
    from failcast.live.hub import Hub
    from failcast.notify.notifier import Notifier
    from failcast.ops.telemetry import Telemetry
    from failcast.predict.registry import ModelCache
    from failcast.services import Services
    from failcast.topology.service import OrgTopology, SimulatedTopology


def install_services(app: FastAPI, services: Services) -> None:
    """Keep `services` on `app`, for `services_of` and the dependencies below."""
    app.state.services = services


def services_of(app: FastAPI) -> Services:
    """The container `install_services` kept on `app`."""
    services: Services = app.state.services
    return services


def get_services(connection: HTTPConnection) -> Services:
    """The app's container, for an HTTP request or a WebSocket."""
    return services_of(connection.app)


def get_settings(connection: HTTPConnection) -> Settings:
    return get_services(connection).settings


def get_database(connection: HTTPConnection) -> Database:
    return get_services(connection).db


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the endpoint succeeds, rolled back when
    it raises (a handled 4xx included).

    `SessionDep` gives this dependency the "function" scope, so FastAPI runs its exit when the
    endpoint has returned and its response is serialized, but before the response is sent: a
    client's next request sees its own write, and a failing commit becomes an error answer
    rather than a write lost after a 2xx. (The default "request" scope would exit only after
    the response had gone out.)"""
    database: Database = services_of(request.app).db
    async with session_scope(database) as session:
        yield session


def get_passwords(connection: HTTPConnection) -> Passwords:
    return get_services(connection).passwords


def get_ingestor(connection: HTTPConnection) -> Ingestor:
    return get_services(connection).ingestor


def get_runner(connection: HTTPConnection) -> TaskRunner:
    return get_services(connection).runner


def get_hub(connection: HTTPConnection) -> Hub:
    return get_services(connection).hub


def get_telemetry(connection: HTTPConnection) -> Telemetry:
    return get_services(connection).telemetry


def get_egress(connection: HTTPConnection) -> EgressPolicy:
    return get_services(connection).egress


def get_topology(connection: HTTPConnection) -> OrgTopology:
    return get_services(connection).topology


def get_simulated_topology(connection: HTTPConnection) -> SimulatedTopology:
    return get_services(connection).simulated_topology


def get_notifier(connection: HTTPConnection) -> Notifier:
    return get_services(connection).notifier


def get_simulator(connection: HTTPConnection) -> Simulator:
    return get_services(connection).simulator


def get_exporters(connection: HTTPConnection) -> ExporterRegistry:
    return get_services(connection).exporters


def get_integrations(connection: HTTPConnection) -> Integrations:
    return get_services(connection).integrations


def get_model_cache(connection: HTTPConnection) -> ModelCache:
    return get_services(connection).model_cache


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
# A larger id in a path is a 422, never an overflow in the driver.
PathId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id.")]

if TYPE_CHECKING:
    ServicesDep = Annotated[Services, Depends(get_services)]
    PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
    IngestorDep = Annotated[Ingestor, Depends(get_ingestor)]
    RunnerDep = Annotated[TaskRunner, Depends(get_runner)]
    HubDep = Annotated[Hub, Depends(get_hub)]
    TelemetryDep = Annotated[Telemetry, Depends(get_telemetry)]
    EgressDep = Annotated[EgressPolicy, Depends(get_egress)]
    TopologyDep = Annotated[OrgTopology, Depends(get_topology)]
    SimulatedTopologyDep = Annotated[SimulatedTopology, Depends(get_simulated_topology)]
    NotifierDep = Annotated[Notifier, Depends(get_notifier)]
    SimulatorDep = Annotated[Simulator, Depends(get_simulator)]
    ExportersDep = Annotated[ExporterRegistry, Depends(get_exporters)]
    IntegrationsDep = Annotated[Integrations, Depends(get_integrations)]
    ModelCacheDep = Annotated[ModelCache, Depends(get_model_cache)]
else:
    # The same aliases without the domains' types (see the module's docstring).
    ServicesDep = Annotated[object, Depends(get_services)]
    PasswordsDep = Annotated[object, Depends(get_passwords)]
    IngestorDep = Annotated[object, Depends(get_ingestor)]
    RunnerDep = Annotated[object, Depends(get_runner)]
    HubDep = Annotated[object, Depends(get_hub)]
    TelemetryDep = Annotated[object, Depends(get_telemetry)]
    EgressDep = Annotated[object, Depends(get_egress)]
    TopologyDep = Annotated[object, Depends(get_topology)]
    SimulatedTopologyDep = Annotated[object, Depends(get_simulated_topology)]
    NotifierDep = Annotated[object, Depends(get_notifier)]
    SimulatorDep = Annotated[object, Depends(get_simulator)]
    ExportersDep = Annotated[object, Depends(get_exporters)]
    IntegrationsDep = Annotated[object, Depends(get_integrations)]
    ModelCacheDep = Annotated[object, Depends(get_model_cache)]
