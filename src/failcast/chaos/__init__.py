"""The built-in simulated fleet: services, ML models and data pipelines, their metrics, slow
failures with precursors, chaos faults, ground-truth incidents and chaos experiments.

Everything here is pure (no I/O): the same seed gives the same fleet.
"""

from failcast.chaos.engine import Fleet, Sample
from failcast.chaos.experiments import (
    Experiment,
    FaultAction,
    Probe,
    Rollback,
    SteadyStateHypothesis,
    evaluate,
    run_offline,
)
from failcast.chaos.faults import (
    SLOW_KINDS,
    SUDDEN_KINDS,
    Fault,
    FaultError,
    FaultKind,
    Incident,
    IncidentType,
    organic_faults,
)
from failcast.chaos.fleet import FleetSpec, Kind, ServiceSpec, Topology, build_fleet
from failcast.chaos.history import History, generate_history, history_matrix, long_frame
from failcast.chaos.signals import SeriesMatrix, simulate

__all__ = [
    "SLOW_KINDS",
    "SUDDEN_KINDS",
    "Experiment",
    "Fault",
    "FaultAction",
    "FaultError",
    "FaultKind",
    "Fleet",
    "FleetSpec",
    "History",
    "Incident",
    "IncidentType",
    "Kind",
    "Probe",
    "Rollback",
    "Sample",
    "SeriesMatrix",
    "ServiceSpec",
    "SteadyStateHypothesis",
    "Topology",
    "build_fleet",
    "evaluate",
    "generate_history",
    "history_matrix",
    "long_frame",
    "organic_faults",
    "run_offline",
    "simulate",
]
