"""The composition root: one typed container of the services an API process or a worker runs
with, built from `Settings` by `build_services`.

The web app (app.py) builds it and keeps it on itself through `failcast.deps.install_services`;
endpoints reach its pieces through the `Annotated` aliases of deps.py. A worker or scheduler
(jobs/worker.py) builds the same container without a web app. Every domain registers its tasks
and keeps its state on the container (`install_*(services)`), never on the app.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from failcast.alerting.lifecycle import record_event
from failcast.alerting.tasks import register as register_alerting
from failcast.auth.passwords import Passwords
from failcast.auth.security import Security, install_security
from failcast.billing.tasks import Billing, install_billing
from failcast.chaos.demo import BACKFILL_TASK, backfill_task
from failcast.chaos.incidents import store_incidents
from failcast.chaos.runtime import Simulator
from failcast.chaos.topology import fleet_topology
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.detect.service import LiveScoring
from failcast.detect.tasks import install_detection
from failcast.egress import EgressPolicy
from failcast.health.live import service_statuses
from failcast.ingest.limits import SeriesBudget, SeriesLimits
from failcast.ingest.service import Ingestor
from failcast.integrations.exporters import ExporterRegistry
from failcast.integrations.state import Integrations
from failcast.integrations.state import install as install_integrations
from failcast.jobs.arq_runner import runner_for
from failcast.jobs.maintenance import install_store_jobs
from failcast.jobs.runner import TaskRunner, attach_events
from failcast.live.events import LivePublisher
from failcast.live.hub import Hub
from failcast.live.redis_hub import hub_for
from failcast.notify.notifier import Notifier
from failcast.ops.telemetry import Telemetry
from failcast.predict.registry import ModelCache
from failcast.predict.tasks import PredictionJobs, Rescorer, install_prediction
from failcast.reports.service import WeeklyReports
from failcast.reports.tasks import install_reports
from failcast.signals import SignalRegistry
from failcast.slo.signals import SloBurnSignals
from failcast.store.remote import open_database
from failcast.topology.graph import DependencyGraph
from failcast.topology.schemas import TopologySpec
from failcast.topology.service import OrgTopology, SimulatedTopology, org_graph


@dataclass(eq=False)
class Services:
    """Everything an API process or a worker shares. The fields without a default in the
    constructor are set while `build_services` runs: by it, or by a domain's `install_*`."""

    settings: Settings
    db: Database
    passwords: Passwords
    ingestor: Ingestor
    runner: TaskRunner
    hub: Hub
    # Committed alerts, predictions, ingests and health changes go to the orgs' live streams.
    live: LivePublisher
    telemetry: Telemetry
    alert_signals: SignalRegistry
    egress: EgressPolicy
    # The simulated fleet's topology for an org, while its simulator is on.
    simulated_topology: SimulatedTopology = field(init=False)
    # The org's one dependency graph (declared, simulated and label-discovered edges).
    topology: OrgTopology = field(init=False)
    notifier: Notifier = field(init=False)
    simulator: Simulator = field(init=False)
    security: Security = field(init=False)
    exporters: ExporterRegistry = field(init=False)
    integrations: Integrations = field(init=False)
    model_cache: ModelCache = field(init=False)
    prediction_jobs: PredictionJobs = field(init=False)
    # Early re-scoring of a service whose health changed; None until prediction is installed.
    rescorer: Rescorer | None = None
    live_scoring: LiveScoring = field(init=False)
    billing: Billing = field(init=False)
    reports: WeeklyReports = field(init=False)

    async def aclose(self) -> None:
        """Stop the runner and close every connection the services hold."""
        await self.runner.stop()
        await self.live.close()
        await self.hub.close()
        await self.security.close()
        await self.db.dispose()


def build_services(settings: Settings) -> Services:
    """The container of `settings`, with every domain's tasks registered on its runner."""
    db = open_database(settings)
    hub = hub_for(settings)
    services = Services(
        settings=settings,
        db=db,
        passwords=Passwords(settings),
        ingestor=Ingestor(budget=SeriesBudget(SeriesLimits.from_settings(settings))),
        runner=runner_for(settings),
        hub=hub,
        live=LivePublisher(db, hub, read_health=service_statuses),
        telemetry=Telemetry(),
        alert_signals=SignalRegistry(),
        egress=EgressPolicy.from_settings(settings),
    )
    services.live.install()

    # Inhibition reads the graph wherever it runs; the simulator is looked up when it is needed.
    def simulated_topology(org_id: int) -> TopologySpec:
        return fleet_topology(services.simulator.new_fleet(org_id).spec)

    services.simulated_topology = simulated_topology

    def org_topology(session: AsyncSession, org_id: int) -> Awaitable[DependencyGraph]:
        return org_graph(session, org_id, services.simulated_topology)

    services.topology = org_topology
    services.notifier = Notifier(
        services.db,
        external_url=settings.public_url,
        egress=services.egress,
        timeline=record_event,
    )
    services.alert_signals.register("slo_burn", SloBurnSignals())
    register_alerting(
        services.runner,
        services.db,
        services.alert_signals,
        services.notifier,
        topology=org_topology,
    )
    services.simulator = Simulator(
        services.db, services.ingestor, services.hub, settings, incident_sink=store_incidents
    )
    services.runner.register("simulator.tick", services.simulator.tick)
    services.runner.register(BACKFILL_TASK, backfill_task(services))
    services.runner.every(settings.simulator_tick_seconds, "simulator.tick")
    install_security(services)
    install_integrations(services)
    install_prediction(services)
    install_store_jobs(services)
    install_detection(services)
    install_billing(services)
    install_reports(services)
    attach_events(services.runner, services.telemetry)
    return services
